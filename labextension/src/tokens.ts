/**
 * The REST contract of /api/mlgov/ as the sidebar uses it, and the plugin id.
 *
 * Keep these shapes in step with the server's pydantic models (the OpenAPI
 * document at /api/mlgov/openapi.json is the source of truth).
 */

export const PLUGIN_ID = 'mlgov-jupyter:plugin';
export const PANEL_ID = 'mlgov-sidebar';

export type AssetKind = 'dataset' | 'model' | 'feature_group';
export type Access = 'owner' | 'granted' | 'pending' | 'none';
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
  content_hash: string;
  revisions: IRevision[];
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
}

export interface ISearchResult {
  total: number;
  page: number;
  page_size: number;
  items: IAssetSummary[];
  facets: Partial<Record<Facet, { [value: string]: number }>>;
}

export type RequestStatus = 'pending' | 'accepted' | 'rejected';

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
  ended_by?: string | null;
  ended_at?: string | null;
}
