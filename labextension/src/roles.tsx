import React, { useEffect, useMemo, useState } from 'react';

import { Badge } from './components';
import { MlgovAPI, errorLine } from './handler';
import {
  ErrorSink,
  IActivity,
  IPersona,
  IRole,
  IRoleCatalog,
  IRolePreview,
  IRoleSummary
} from './tokens';

interface IRolesProps {
  refreshKey: number;
  onChanged: () => void;
  onError: ErrorSink;
}

/** Admins: roles with their assignments, a new-role form with a live policy preview. */
export function RolesView({
  refreshKey,
  onChanged,
  onError
}: IRolesProps): JSX.Element {
  const [catalog, setCatalog] = useState<IRoleCatalog | null>(null);
  const [roles, setRoles] = useState<IRoleSummary[] | null>(null);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    MlgovAPI.roleCatalog().then(setCatalog, onError);
  }, []);

  useEffect(() => {
    let current = true;
    MlgovAPI.listRoles().then(
      r => current && setRoles(r),
      e => current && onError(e)
    );
    return () => {
      current = false;
    };
  }, [refreshKey]);

  return (
    <div className="jp-mlgov-roles">
      <div className="jp-mlgov-sectionHeader jp-mlgov-first">
        <h4 className="jp-mlgov-heading">
          Roles{roles !== null && ` (${roles.length})`}
        </h4>
        {!creating && (
          <button
            className="jp-mod-styled jp-mod-accept jp-mlgov-button jp-mlgov-small"
            disabled={catalog === null}
            onClick={() => {
              onError(null);
              setCreating(true);
            }}
          >
            New role
          </button>
        )}
      </div>
      {creating && catalog !== null && (
        <RoleForm
          catalog={catalog}
          onCancel={() => setCreating(false)}
          onSaved={() => {
            setCreating(false);
            onChanged();
          }}
          onError={onError}
        />
      )}
      {roles !== null && roles.length === 0 && (
        <p className="jp-mlgov-empty">
          No roles yet: everyone acts under the built-in default role.
        </p>
      )}
      <ul className="jp-mlgov-cards" aria-label="Roles">
        {roles?.map(role => (
          <RoleItem
            key={role.name}
            role={role}
            catalog={catalog}
            onChanged={onChanged}
            onError={onError}
          />
        ))}
      </ul>
    </div>
  );
}

function RoleItem({
  role,
  catalog,
  onChanged,
  onError
}: {
  role: IRoleSummary;
  catalog: IRoleCatalog | null;
  onChanged: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const [kind, setKind] = useState<'user' | 'group'>('user');
  const [who, setWho] = useState('');
  const [projects, setProjects] = useState('');
  const [busy, setBusy] = useState(false);
  const g = role.guardrails;
  const persona =
    catalog?.personas.find(p => p.id === role.persona)?.title ?? role.persona;
  const rails = [
    `${role.activities.length} activities`,
    g.classification_ceiling ? `up to ${g.classification_ceiling}` : 'no ceiling',
    g.max_grant_days ? `grants ≤ ${g.max_grant_days} days` : null,
    g.separation_of_duties ? 'separation of duties' : null,
    g.projects.length > 0 ? `projects ${g.projects.join(', ')}` : null
  ].filter(Boolean);

  const act = async (call: () => Promise<unknown>) => {
    onError(null);
    setBusy(true);
    try {
      await call();
      return true;
    } catch (error) {
      onError(error);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const assign = async () => {
    const target = kind === 'user' ? { user: who.trim() } : { group: who.trim() };
    if (await act(() => MlgovAPI.assignRole(role.name, target, list(projects)))) {
      setWho('');
      setProjects('');
      onChanged();
    }
  };

  return (
    <li className="jp-mlgov-card" aria-label={`Role ${role.name}`}>
      <div className="jp-mlgov-cardTop">
        <span className="jp-mlgov-resultName">{role.name}</span>
        <Badge label={persona} tone="info" title={`Persona: ${role.persona}`} />
        {role.assigned_to.length === 0 && (
          <button
            className="jp-mlgov-iconButton"
            disabled={busy}
            aria-label={`Delete role ${role.name}`}
            title={`Delete role ${role.name} (it is assigned to nobody)`}
            onClick={async () => {
              if (await act(() => MlgovAPI.deleteRole(role.name))) {
                onChanged();
              }
            }}
          >
            ×
          </button>
        )}
      </div>
      {role.description && (
        <div className="jp-mlgov-resultDesc">{role.description}</div>
      )}
      <div className="jp-mlgov-resultMeta">{rails.join(' · ')}</div>
      <ul className="jp-mlgov-rows jp-mlgov-assignments" aria-label={`Holders of ${role.name}`}>
        {role.assigned_to.map(a => {
          const name = a.user !== null ? a.user : `group ${a.group}`;
          return (
            <li key={a.id} className="jp-mlgov-row">
              <span className="jp-mlgov-rowMain">
                <span>{name}</span>
                <span className="jp-mlgov-resultMeta">
                  {a.projects.length > 0
                    ? `in ${a.projects.join(', ')}`
                    : 'in every project'}
                </span>
              </span>
              <button
                className="jp-mlgov-iconButton"
                disabled={busy}
                aria-label={`Remove ${role.name} from ${name}`}
                title={`Remove ${role.name} from ${name}`}
                onClick={async () => {
                  if (await act(() => MlgovAPI.unassignRole(a.id))) {
                    onChanged();
                  }
                }}
              >
                ×
              </button>
            </li>
          );
        })}
      </ul>
      <form
        className="jp-mlgov-assign"
        onSubmit={e => {
          e.preventDefault();
          void assign();
        }}
      >
        <select
          className="jp-mlgov-select"
          aria-label={`Assign ${role.name} to a user or a group`}
          value={kind}
          onChange={e => setKind(e.target.value as 'user' | 'group')}
        >
          <option value="user">user</option>
          <option value="group">group</option>
        </select>
        <input
          className="jp-mod-styled jp-mlgov-input"
          placeholder={kind === 'user' ? 'user name' : 'group name'}
          aria-label={`Assign ${role.name} to`}
          value={who}
          onChange={e => setWho(e.target.value)}
        />
        <input
          className="jp-mod-styled jp-mlgov-input"
          placeholder="projects (all)"
          aria-label={`Projects of the ${role.name} assignment`}
          title="Comma-separated project names; empty for every project"
          value={projects}
          onChange={e => setProjects(e.target.value)}
        />
        <button
          type="submit"
          className="jp-mod-styled jp-mlgov-button jp-mlgov-small"
          disabled={busy || who.trim().length === 0}
        >
          Assign
        </button>
      </form>
    </li>
  );
}

/** Comma/space/newline separated values, no empties. */
function list(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map(s => s.trim())
    .filter(s => s.length > 0);
}

/** "key=value" per line or comma. */
function tags(text: string): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  for (const item of text.split(/[\n,]+/)) {
    const trimmed = item.trim();
    if (!trimmed) {
      continue;
    }
    const at = trimmed.indexOf('=');
    const key = (at < 0 ? trimmed : trimmed.slice(0, at)).trim();
    out[key] = at < 0 ? '' : trimmed.slice(at + 1).trim();
  }
  return out;
}

interface IDraft {
  name: string;
  description: string;
  persona: string;
  activities: string[];
  ceiling: string;
  maxDays: string;
  sod: boolean;
  projects: string;
  subnets: string;
  securityGroups: string;
  volumeKms: string;
  outputKms: string;
  policies: string;
  tags: string;
}

const PLACEHOLDER_NAME = 'new-role';

function fromPersona(draft: IDraft, persona: IPersona): IDraft {
  const g = persona.guardrails;
  return {
    ...draft,
    persona: persona.id,
    activities: [...persona.activities],
    ceiling: g.classification_ceiling ?? '',
    maxDays: g.max_grant_days ? String(g.max_grant_days) : '',
    sod: g.separation_of_duties ?? true
  };
}

/** The role dict exactly as Role.from_dict reads it. */
function toRole(d: IDraft): IRole {
  const days = d.maxDays.trim();
  return {
    name: d.name.trim() || PLACEHOLDER_NAME,
    persona: d.persona,
    description: d.description.trim(),
    activities: d.activities,
    guardrails: {
      classification_ceiling: d.ceiling || null,
      // a non-number goes as typed, so the server's one-line message names it
      max_grant_days:
        days === ''
          ? null
          : Number.isNaN(Number(days))
            ? (days as unknown as number)
            : Number(days),
      separation_of_duties: d.sod,
      projects: list(d.projects)
    },
    aws: {
      vpc_subnets: list(d.subnets),
      vpc_security_groups: list(d.securityGroups),
      volume_kms_keys: list(d.volumeKms),
      output_kms_keys: list(d.outputKms),
      managed_policy_arns: list(d.policies),
      tags: tags(d.tags)
    }
  };
}

function RoleForm({
  catalog,
  onCancel,
  onSaved,
  onError
}: {
  catalog: IRoleCatalog;
  onCancel: () => void;
  onSaved: () => void;
  onError: ErrorSink;
}): JSX.Element {
  const first = catalog.personas[0];
  const [draft, setDraft] = useState<IDraft>(() =>
    fromPersona(
      {
        name: '',
        description: '',
        persona: '',
        activities: [],
        ceiling: '',
        maxDays: '',
        sod: true,
        projects: '',
        subnets: '',
        securityGroups: '',
        volumeKms: '',
        outputKms: '',
        policies: '',
        tags: ''
      },
      first
    )
  );
  const [preview, setPreview] = useState<IRolePreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const role = useMemo(() => toRole(draft), [draft]);
  const persona = catalog.personas.find(p => p.id === draft.persona) ?? first;

  // Live preview, debounced: the server builds the Cedar policy and the IAM export.
  useEffect(() => {
    let current = true;
    const timer = window.setTimeout(() => {
      MlgovAPI.previewRole(role).then(
        p => {
          if (current) {
            setPreview(p);
            setPreviewError(null);
          }
        },
        e => current && setPreviewError(errorLine(e))
      );
    }, 350);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [JSON.stringify(role)]);

  const set = (patch: Partial<IDraft>) => setDraft(d => ({ ...d, ...patch }));
  const toggle = (id: string, on: boolean) =>
    setDraft(d => ({
      ...d,
      activities: on
        ? [...d.activities, id]
        : d.activities.filter(a => a !== id)
    }));

  const save = async () => {
    onError(null);
    setBusy(true);
    try {
      await MlgovAPI.saveRole({ ...role, name: draft.name.trim() });
      onSaved();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };

  const text = (
    key: keyof IDraft,
    label: string,
    placeholder = '',
    title = ''
  ) => (
    <label className="jp-mlgov-field">
      <span>{label}</span>
      <input
        className="jp-mod-styled jp-mlgov-input"
        placeholder={placeholder}
        aria-label={label}
        title={title || undefined}
        value={draft[key] as string}
        onChange={e => set({ [key]: e.target.value } as Partial<IDraft>)}
      />
    </label>
  );

  const activityList = (items: IActivity[]) =>
    items.map(a => {
      const blocked = persona.read_only && a.writes;
      return (
        <label
          key={a.id}
          className="jp-mlgov-check"
          title={blocked ? `${a.description} (not for a read-only persona)` : a.description}
        >
          <input
            type="checkbox"
            checked={draft.activities.includes(a.id)}
            disabled={blocked}
            onChange={e => toggle(a.id, e.target.checked)}
          />
          {a.title}
        </label>
      );
    });

  return (
    <form
      className="jp-mlgov-card jp-mlgov-roleForm"
      aria-label="New role"
      onSubmit={e => {
        e.preventDefault();
        void save();
      }}
    >
      {text('name', 'Name', 'e.g. ds-no-pii')}
      {text('description', 'Description', 'what the role is for')}
      <label className="jp-mlgov-field">
        <span>Persona</span>
        <select
          className="jp-mlgov-select"
          aria-label="Persona"
          value={draft.persona}
          onChange={e => {
            const p = catalog.personas.find(x => x.id === e.target.value);
            if (p) {
              setDraft(d => fromPersona(d, p));
            }
          }}
        >
          {catalog.personas.map(p => (
            <option key={p.id} value={p.id} title={p.description}>
              {p.title}
            </option>
          ))}
        </select>
      </label>
      <p className="jp-mlgov-hint">{persona.description}</p>
      <fieldset className="jp-mlgov-fieldset" aria-label="Activities">
        <legend>
          Activities ({draft.activities.length})
        </legend>
        <div className="jp-mlgov-checks">
          {activityList(catalog.activities.filter(a => !a.aws_only))}
        </div>
        <div className="jp-mlgov-subhead">AWS (IAM export only)</div>
        <div className="jp-mlgov-checks">
          {activityList(catalog.activities.filter(a => a.aws_only))}
        </div>
      </fieldset>
      <fieldset className="jp-mlgov-fieldset" aria-label="Guardrails">
        <legend>Guardrails</legend>
        <label className="jp-mlgov-field">
          <span>Classification ceiling</span>
          <select
            className="jp-mlgov-select"
            aria-label="Classification ceiling"
            value={draft.ceiling}
            onChange={e => set({ ceiling: e.target.value })}
          >
            <option value="">none</option>
            {catalog.classifications.map(c => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        {text('maxDays', 'Max grant days', 'no limit')}
        <label className="jp-mlgov-check">
          <input
            type="checkbox"
            checked={draft.sod}
            onChange={e => set({ sod: e.target.checked })}
          />
          Separation of duties
        </label>
        {text('projects', 'Project scope', 'all projects', 'Comma-separated project names')}
      </fieldset>
      <details className="jp-mlgov-fieldset jp-mlgov-aws">
        <summary>AWS settings</summary>
        {text('subnets', 'VPC subnets', 'subnet-0abc1234')}
        {text('securityGroups', 'Security groups', 'sg-0abc1234')}
        {text('volumeKms', 'Volume KMS keys', 'arn:aws:kms:…:key/…')}
        {text('outputKms', 'Output KMS keys', 'arn:aws:kms:…:key/…')}
        {text('policies', 'Managed policy ARNs', 'arn:aws:iam::aws:policy/…')}
        {text('tags', 'Tags', 'team=ml, cost-center=42')}
      </details>
      <section className="jp-mlgov-section" aria-label="Preview">
        <h4>Preview{draft.name.trim() === '' && ` (as ${PLACEHOLDER_NAME})`}</h4>
        {previewError !== null && (
          <div className="jp-mlgov-inlineError" role="status" title={previewError}>
            {previewError}
          </div>
        )}
        <div className="jp-mlgov-subhead">mlgov policy (Cedar)</div>
        <pre className="jp-mlgov-snippet jp-mlgov-policy" aria-label="mlgov policy">
          {preview?.mlgov_policy ?? '…'}
        </pre>
        <div className="jp-mlgov-subhead">AWS IAM role</div>
        <pre className="jp-mlgov-snippet jp-mlgov-policy" aria-label="IAM policy">
          {preview ? JSON.stringify(preview.iam, null, 2) : '…'}
        </pre>
      </section>
      <div className="jp-mlgov-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-mlgov-button"
          disabled={busy || draft.name.trim() === ''}
        >
          Save role
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-mod-reject jp-mlgov-button"
          onClick={onCancel}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

