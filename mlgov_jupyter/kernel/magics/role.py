"""%mlgov role ...: the role manager from the notebook."""

from __future__ import annotations

import json

from .base import Subcommand


class RoleCommand(Subcommand):
    name = "role"
    help = "Roles: new (wizard) | list | show NAME [--iam] | assign NAME --user U|--group G | unassign ID"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("new", help="open the role wizard (admins save)")
        sub.add_parser("list")
        show = sub.add_parser("show")
        show.add_argument("role")
        show.add_argument("--iam", action="store_true", help="print the AWS IAM export as JSON")
        assign = sub.add_parser("assign")
        assign.add_argument("role")
        who = assign.add_mutually_exclusive_group(required=True)
        who.add_argument("--user")
        who.add_argument("--group")
        assign.add_argument("--projects", default="", help="comma separated; default: every project")
        unassign = sub.add_parser("unassign")
        unassign.add_argument("assignment_id", type=int)
        delete = sub.add_parser("delete")
        delete.add_argument("role")

    def run(self, args, ctx):
        client = ctx.client
        if args.action == "new":
            from ..widgets.role_wizard import RoleWizard

            def assign(assignments):
                for a in assignments:
                    client.assign_role(a.role, user=a.user, group=a.group, projects=a.projects)

            return RoleWizard(on_save=client.create_role, on_assign=assign)
        if args.action == "list":
            roles = client.roles()
            if not roles:
                print("no roles defined: users act by their project designations")
            for r in roles:
                who = ", ".join((a["user"] or "group " + a["group"]) + (f" in {','.join(a['projects'])}"
                                if a["projects"] else "") for a in r["assigned_to"]) or "nobody"
                print(f"{r['name']:<24} {r['persona']:<15} {len(r['activities'])} activities; "
                      f"assigned to {who} [ids {', '.join(str(a['id']) for a in r['assigned_to'])}]")
            return None
        if args.action == "show":
            role = client.role(args.role)
            if args.iam:
                print(json.dumps(role["iam"], indent=2))
            else:
                print(role["mlgov_policy"])
            return role
        if args.action == "assign":
            projects = [p.strip() for p in args.projects.split(",") if p.strip()]
            a = client.assign_role(args.role, user=args.user, group=args.group, projects=projects)
            print(f"assignment #{a['id']}: {a['role']} to {a['user'] or 'group ' + a['group']}")
            return None
        if args.action == "unassign":
            client.unassign_role(args.assignment_id)
            print(f"assignment #{args.assignment_id} removed")
            return None
        client.delete_role(args.role)
        print(f"role {args.role} deleted")
        return None


class ProjectCommand(Subcommand):
    name = "project"
    help = "Create a project: %mlgov project new NAME [--profile sandbox|regulated-pii|production]"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        new = sub.add_parser("new")
        new.add_argument("project")
        new.add_argument("--profile", help="a governed project in one step (admins)")
        new.add_argument("--description", default="")

    def run(self, args, ctx):
        client = ctx.client
        if args.profile:
            out = client.create_project_from_profile(args.project, args.profile, args.description)
            print(f"project {args.project} from profile {args.profile}: roles {', '.join(out['roles'])}")
        else:
            client.create_project(args.project, args.description)
            print(f"project {args.project} created; you are its owner")
        return None
