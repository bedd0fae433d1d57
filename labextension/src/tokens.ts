/**
 * The REST contract of /api/mlgov/ as the sidebar uses it, and the plugin id.
 *
 * Keep these shapes in step with the server's pydantic models (the OpenAPI
 * document at /api/mlgov/openapi.json is the source of truth).
 */

export const PLUGIN_ID = 'mlgov-jupyter:plugin';
export const PANEL_ID = 'mlgov-sidebar';

export type AssetKind = 'dataset' | 'model' | 'feature_group';
export type Access = 'owner' | 'steward' | 'member' | 'granted' | 'pending' | 'none';
export type Designation =
  | 'owner'
  | 'contributor'
  | 'consumer'
  | 'viewer'
  | 'steward';

export interface IWhoAmI {
  name: string;
  display_name: string;
  is_admin: boolean;
  projects: { name: string; designation: Designation }[];
  /** Whether the server vends presigned URLs (c.MlgovApp.presigned_urls). */
  presigned_urls?: boolean;
}

/** GET assets/{name}/urls: short-lived presigned URLs to a dataset revision's files. */
export interface IPresignedUrls {
  name: string;
  revision: number;
  format: string;
  expires_in: number;
  expires_at: string;
  files: {
    url: string;
    size_bytes: number | null;
    content_hash?: string;
    path?: string;
  }[];
}

export interface IAssetSummary {
  name: string;
  kind: AssetKind;
  project: string;
  owner: string;
  description: string;
  tags: string[];
  classification: string;
  revision: number;
  updated_at: string;
  row_count: number | null;
  access: Access;
  /** Set while deprecated: who, when, why and what to use instead. */
  deprecated?: ILifecycleMark | null;
  /** Set once unpublished (a tombstone its project still sees). */
  unpublished?: ILifecycleMark | null;
}

/** A deprecation or an unpublishing (service/lifecycle.py). */
export interface ILifecycleMark {
  at: string;
  by: string;
  reason: string;
  replacement?: string | null;
}

/** What POST assets/{name}/unpublish answers. */
export interface IUnpublished {
  name: string;
  unpublished: ILifecycleMark;
  grants_ended: number;
  requests_closed: number;
  content_deleted: string[];
  content_kept: string[];
}

/** Filters of the Cards tab (GET cards). */
export interface ICardFilter {
  text: string;
  status: string;
  risk: string;
}

export interface IColumn {
  name: string;
  type: string;
}

export interface IRevision {
  revision: number;
  content_hash: string;
  row_count: number | null;
  created_by: string;
  created_at: string;
}

export interface IAssetDetail extends IAssetSummary {
  glossary_terms: string[];
  schema: IColumn[];
  summary: { [column: string]: { [stat: string]: unknown } };
  location: string | null;
  content_hash: string | null;
  revisions: IRevision[];
  /** Set when the caller's grant is scoped by an asset filter: its name. */
  asset_filter?: string | null;
}

/** One condition of a row filter: [column, op, value] (core/row_filters.py). */
export type RowTerm = [string, string, unknown];

/** An asset filter (a named scope of a dataset) as GET assets/{name}/filters gives it. */
export interface IAssetFilter {
  name: string;
  description: string;
  /** The columns a grantee sees; null: all of them. */
  columns: string[] | null;
  /** Disjunctive normal form (any group, all terms); null: all rows, or hidden from non-readers. */
  rows: RowTerm[][] | null;
  /** The columns the row filter tests (shown even when `rows` is hidden). */
  row_columns: string[];
  created_by: string;
  created_at: string | null;
}

export interface IAssetFilterCreate {
  name: string;
  description: string;
  columns?: string[];
  rows?: RowTerm[][];
}

/** The facets a search can filter on, in the order the panel shows them. */
export const FACETS = [
  'kind',
  'tag',
  'project',
  'classification',
  'owner'
] as const;
export type Facet = (typeof FACETS)[number];

export interface ISearchQuery {
  q: string;
  filters: Partial<Record<Facet, string>>;
  page: number;
  page_size: number;
  /** Deprecated assets are left out unless this is set. */
  include_deprecated?: boolean;
}

export interface ISearchResult {
  total: number;
  /** more matches than the service counts (1,000): total and facets are the newest ones' */
  total_is_lower_bound?: boolean;
  page: number;
  page_size: number;
  items: IAssetSummary[];
  facets: Partial<Record<Facet, { [value: string]: number }>>;
}

export type RequestStatus = 'pending' | 'accepted' | 'rejected' | 'closed';

export interface IAccessRequest {
  id: number;
  asset: string;
  project: string;
  requester: string;
  reason: string;
  status: RequestStatus;
  created_at: string;
  decided_by: string | null;
  decision_comment: string | null;
  decided_at: string | null;
  /** The asset filter the request asks for; null: the whole asset. */
  asset_filter?: string | null;
  /** Accepted requests: the asset filter the grant carries; null: the whole asset. */
  granted_filter?: string | null;
}

/** True when the user may decide requests on some project's assets. */
export function canDecide(me: IWhoAmI | null): boolean {
  return (
    !!me &&
    (me.is_admin ||
      me.projects.some(
        p => p.designation === 'owner' || p.designation === 'steward'
      ))
  );
}

/** Called by the views with an error to show, or null to clear it. */
export type ErrorSink = (error: unknown | null) => void;

export type SubscriptionStatus = 'approved' | 'revoked' | 'cancelled';

export interface ISubscription {
  id: number;
  asset: string;
  subscriber: string;
  status: SubscriptionStatus;
  created_at: string;
  grant_status: string | null;
  grant_expires_at?: string | null;
  ended_by?: string | null;
  ended_at?: string | null;
  /** The asset filter its grant is scoped to; null: the whole asset. */
  asset_filter?: string | null;
}

/** True when the user is an owner or steward of the project (or an admin). */
export function isOwnerOrSteward(me: IWhoAmI | null, project: string): boolean {
  return (
    !!me &&
    (me.is_admin ||
      me.projects.some(
        p =>
          p.name === project &&
          (p.designation === 'owner' || p.designation === 'steward')
      ))
  );
}

// Model cards

export type CardStatus = 'Draft' | 'PendingReview' | 'Approved' | 'Archived';
export type CardAction = 'submit' | 'approve' | 'send_back' | 'archive';
export type ExportFormat = 'html' | 'pdf' | 'json' | 'markdown';

export interface ICardSummary {
  name: string;
  model: string;
  project: string;
  status: CardStatus;
  version: number;
  risk_rating: string;
  author: string;
  updated_at: string;
  approved_version: number | null;
}

export interface ICardVersion {
  version: number;
  status: CardStatus;
  created_by: string;
  created_at: string;
  reviewed_by: string | null;
}

export interface ICard extends ICardSummary {
  latest_version: number;
  content: { [section: string]: unknown };
  lineage: { training: string[]; evaluation: string[] };
  created_by: string;
  created_at: string;
  submitted_by: string | null;
  approved_by: string | null;
  approved_at: string | null;
  review_comment: string | null;
  versions: ICardVersion[];
}

export interface ICardChange {
  path: string;
  op: string;
  old: unknown;
  new: unknown;
  /** Display text of each side (null where absent); numbers with 4 significant digits. */
  old_text: string | null;
  new_text: string | null;
  /** A chart's data: "changed, 87 points", "changed, 2×2 matrix". */
  summary?: string;
}

/** What the rules let this user do to the card's latest version (the server decides). */
export function cardActions(me: IWhoAmI | null, card: ICard): CardAction[] {
  if (!me) {
    return [];
  }
  const out: CardAction[] = [];
  const steward = isOwnerOrSteward(me, card.project);
  if (card.status === 'Draft' && card.created_by === me.name) {
    out.push('submit');
  }
  if (
    card.status === 'PendingReview' &&
    steward &&
    me.name !== card.created_by &&
    me.name !== card.submitted_by
  ) {
    out.push('approve', 'send_back');
  }
  if (card.status !== 'Archived' && steward) {
    out.push('archive');
  }
  return out;
}

// Monitoring

export type AlertState = 'OK' | 'InAlert' | 'Unmonitored' | 'NotMonitored';

export interface IExecution {
  id: number;
  model: string;
  monitor_type: string;
  status: string;
  violations: number;
  dataset_drift: boolean;
  summary: {
    drifted_columns?: string[];
    violations_by_type?: { [type: string]: number };
    n_current?: number | null;
  };
  created_by: string;
  created_at: string;
}

export interface IDriftColumn {
  column: string;
  type?: string;
  test?: string;
  statistic?: number | null;
  p_value?: number | null;
  adjusted_p_value?: number | null;
  threshold?: number | null;
  drifted?: boolean;
}

export interface IViolation {
  feature_name?: string;
  constraint_check_type?: string;
  description?: string;
}

export interface IExecutionDetail extends IExecution {
  /** null: withheld, its charts and statistics hold values of the data the caller may not read */
  report: {
    columns?: IDriftColumn[];
    violations?: IViolation[];
    drift_share?: number;
    drift_share_threshold?: number;
    n_current?: number;
    n_reference?: number;
    [key: string]: unknown;
  } | null;
}

export interface IDashboardModel {
  model: string;
  project: string;
  owner: string;
  card: string | null;
  card_status: CardStatus | null;
  executions: number;
  latest: IExecution | null;
  alert: AlertState;
  acknowledged: IAlertAck | null;
  /** What the dashboard cannot tell: "never checked", "no model card", "card not approved". */
  unknown?: string[];
}

export interface IAlertAck {
  execution: number;
  by: string;
  comment: string;
  at: string;
}

// Roles (the shapes of mlgov_jupyter/core/roles: Role.to_dict / catalog_document)

export interface IActivity {
  id: string;
  title: string;
  description: string;
  writes: boolean;
  aws_only: boolean;
}

export interface IPersona {
  id: string;
  title: string;
  description: string;
  activities: string[];
  read_only: boolean;
  guardrails: Partial<IGuardrails>;
}

export interface IRoleCatalog {
  activities: IActivity[];
  personas: IPersona[];
  classifications: string[];
}

export interface IGuardrails {
  classification_ceiling: string | null;
  max_grant_days: number | null;
  separation_of_duties: boolean;
  projects: string[];
}

export interface IAwsSettings {
  vpc_subnets: string[];
  vpc_security_groups: string[];
  volume_kms_keys: string[];
  output_kms_keys: string[];
  managed_policy_arns: string[];
  tags: { [key: string]: string };
}

export interface IRole {
  name: string;
  persona: string;
  description: string;
  activities: string[];
  guardrails: IGuardrails;
  aws: IAwsSettings;
}

export interface IAssignment {
  id: number;
  role?: string;
  user: string | null;
  group: string | null;
  projects: string[];
}

export interface IRoleSummary {
  name: string;
  persona: string;
  description: string;
  activities: string[];
  guardrails: IGuardrails & { ceiling_exceptions?: unknown[] };
  created_by?: string;
  assigned_to: IAssignment[];
}

export interface IRolePreview {
  name: string;
  mlgov_policy: string;
  iam: { [key: string]: unknown };
}

// Deployments, stored monitors and their alerts (api.py: "deployments, their captured data, ...")

export interface IDeployment {
  name: string;
  model: string;
  model_revision: number;
  environment: string;
  /** InService or OutOfService */
  status: string;
  project: string;
  /** The capture dataset's name (<name>-capture), null without capture */
  capture: string | null;
  captured_rows: number;
  capture_files: number;
  ground_truth_rows: number;
  created_by: string;
  created_at: string;
}

export interface IMonitorLastExecution {
  id: number;
  status: string;
  created_at: string;
  failure_reason: string | null;
}

export interface IMonitor {
  name: string;
  project: string;
  model: string;
  deployment: string | null;
  data: string | null;
  monitor_type: string;
  /** hourly, daily or a cron expression (UTC) */
  schedule: string;
  status: 'Scheduled' | 'Stopped';
  active: boolean;
  next_run_at: string | null;
  running: boolean;
  last_run_at: string | null;
  last_execution: IMonitorLastExecution | null;
  alert: 'OK' | 'InAlert';
  /** the kinds of its open alerts */
  open_alerts: string[];
  /** whether the reader may run, start and stop it (the buttons show only then) */
  may_manage: boolean;
}

export interface IDeploymentDetail extends IDeployment {
  monitors: IMonitor[];
}

/** One metric's value in one execution; drift: a p-value drifts below `threshold`, a distance above. */
export interface IMetricValue {
  value: number;
  threshold?: number | null;
  measure?: 'p_value' | 'distance';
  method?: string;
  drifted?: boolean;
}

export interface IMonitorExecution {
  id: number;
  status: string;
  violations: number;
  dataset_drift: boolean;
  summary: {
    drifted_columns?: string[];
    violations_by_type?: { [type: string]: number };
    n_current?: number | null;
  };
  created_at: string;
  window: { rows?: number; [key: string]: unknown } | null;
  started_at: string | null;
  ended_at: string | null;
  failure_reason: string | null;
  /** absent for a reader who may not see the monitored data */
  metrics?: {
    drift?: { [column: string]: IMetricValue };
    quality?: { [metric: string]: IMetricValue };
    bias?: { [metric: string]: IMetricValue };
  };
}

export type MonitorAlertKind = 'violation' | 'missing' | 'inactive';

export interface IMonitorAlert {
  id: number;
  kind: MonitorAlertKind;
  state: 'InAlert' | 'OK';
  project: string;
  deployment: string | null;
  monitor: string | null;
  execution: number | null;
  reason: string;
  raised_at: string;
  resolved_at: string | null;
  acknowledged: { by: string; at: string; comment: string } | null;
}

export interface IMonitorDetail extends IMonitor {
  /** newest first */
  executions: IMonitorExecution[];
  alerts: IMonitorAlert[];
}
