from .base import Subcommand


class Subscriptions(Subcommand):
    name = "subscriptions"
    help = "Your subscriptions, or --incoming ones on your projects' assets"

    def add_arguments(self, parser):
        parser.add_argument("--incoming", action="store_true")

    def run(self, args, ctx):
        rows = ctx.client.subscriptions(incoming=args.incoming)
        if not rows:
            print("no subscriptions")
        for s in rows:
            print(f"#{s['id']} {s['asset']} for {s['subscriber']}: {s['status']} (grant {s['grant_status']})")
        return None


class Revoke(Subcommand):
    name = "revoke"
    help = "Revoke a subscription and its grant (owners, stewards): %mlgov revoke ID"
    revoke = True

    def add_arguments(self, parser):
        parser.add_argument("subscription_id", type=int)

    def run(self, args, ctx):
        client = ctx.client
        s = (client.revoke if self.revoke else client.cancel)(args.subscription_id)
        print(f"subscription #{s['id']} to {s['asset']} is {s['status']}")
        return None


class Cancel(Revoke):
    name = "cancel"
    help = "Cancel your own subscription: %mlgov cancel ID"
    revoke = False
