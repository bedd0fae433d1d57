import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  CardAction,
  ExportFormat,
  FACETS,
  IAccessRequest,
  IAssetDetail,
  IAssetFilter,
  IAssetFilterCreate,
  IAssignment,
  ICard,
  ICardChange,
  ICardFilter,
  ICardSummary,
  IAlertAck,
  IDashboardModel,
  IDeployment,
  IDeploymentDetail,
  IExecution,
  IUnpublished,
  IExecutionDetail,
  IMonitor,
  IMonitorAlert,
  IMonitorDetail,
  IMonitorExecution,
  IPresignedUrls,
  IRole,
  IRoleCatalog,
  IRolePreview,
  IRoleSummary,
  ISearchQuery,
  ISubscription,
  ISearchResult,
  IWhoAmI,
  RequestStatus
} from './tokens';

const API_NAMESPACE = 'api/mlgov';

/** An error whose message is the one line the server sent (or a network error). */
export class MlgovError extends Error {
  constructor(
    message: string,
    readonly status: number = 0
  ) {
    super(message);
  }
}

/** Send one request; failures throw an MlgovError carrying the server's JSON `message`. */
async function fetchAPI(endPoint: string, init: RequestInit): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  // 'no-cache' (revalidate every time) instead of ServerConnection's default
  // 'no-store', which appends a timestamp parameter the API would reject as unknown.
  const request: RequestInit = { cache: 'no-cache', ...init };
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, request, settings);
  } catch (error) {
    throw new MlgovError(`Cannot reach the server: ${String(error)}`);
  }
  if (!response.ok) {
    const data = parseJSON(await response.text());
    let message = `${response.status} ${response.statusText || 'error'}`;
    if (data && typeof data.message === 'string' && data.message) {
      message = data.message;
    } else if (response.status === 404) {
      message = `The mlgov server extension did not answer ${API_NAMESPACE}/${endPoint.split('?')[0]} (404): is mlgov_jupyter enabled on this server?`;
    }
    throw new MlgovError(message, response.status);
  }
  return response;
}

function parseJSON(text: string): any {
  if (text.length === 0) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Call the mlgov REST API and return the parsed JSON body.
 * Failures throw an MlgovError carrying the server's JSON `message`.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const response = await fetchAPI(endPoint, init);
  return parseJSON(await response.text()) as T;
}

/** A binary endpoint's content and its file name (from the X-Mlgov-Meta header). */
export interface IDownload {
  blob: Blob;
  filename: string;
}

export async function requestBlob(
  endPoint: string,
  fallbackName: string
): Promise<IDownload> {
  const response = await fetchAPI(endPoint, {});
  let filename = fallbackName;
  const meta = parseJSON(
    decodeURIComponent(response.headers.get('X-Mlgov-Meta') ?? '')
  );
  if (meta && typeof meta.filename === 'string') {
    filename = meta.filename;
  }
  return { blob: await response.blob(), filename };
}

const enc = encodeURIComponent;

function post<T>(endPoint: string, body: object): Promise<T> {
  return requestAPI<T>(endPoint, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  });
}

/** The calls the sidebar makes; one function per endpoint. */
export namespace MlgovAPI {
  export function whoami(): Promise<IWhoAmI> {
    return requestAPI<IWhoAmI>('whoami');
  }

  export function searchAssets(query: ISearchQuery): Promise<ISearchResult> {
    const params = new URLSearchParams();
    params.set('q', query.q);
    for (const facet of FACETS) {
      const value = query.filters[facet];
      if (value) {
        params.set(facet, value);
      }
    }
    params.set('page', String(query.page));
    params.set('page_size', String(query.page_size));
    if (query.include_deprecated) {
      params.set('include_deprecated', 'true');
    }
    return requestAPI<ISearchResult>(`assets?${params.toString()}`);
  }

  /** Deprecate (owners, stewards): a reason, optionally the asset to use instead. */
  export function deprecateAsset(
    name: string,
    reason: string,
    replacement?: string
  ): Promise<IAssetDetail> {
    return post<IAssetDetail>(`assets/${enc(name)}/deprecation`, {
      reason,
      ...(replacement ? { replacement } : {})
    });
  }

  export function undeprecateAsset(name: string): Promise<IAssetDetail> {
    return requestAPI<IAssetDetail>(`assets/${enc(name)}/deprecation`, {
      method: 'DELETE'
    });
  }

  /** Unpublish for good (owners): grants end, requests close. */
  export function unpublishAsset(
    name: string,
    reason: string
  ): Promise<IUnpublished> {
    return post<IUnpublished>(`assets/${enc(name)}/unpublish`, { reason });
  }

  export function presignedUrls(name: string): Promise<IPresignedUrls> {
    return requestAPI<IPresignedUrls>(`assets/${enc(name)}/urls`);
  }

  export function getAsset(name: string): Promise<IAssetDetail> {
    return requestAPI<IAssetDetail>(`assets/${enc(name)}`);
  }

  /** `filter`: ask for that asset filter's scope only (none: the whole asset). */
  export function requestAccess(
    asset: string,
    reason: string,
    filter?: string
  ): Promise<IAccessRequest> {
    return post<IAccessRequest>('requests', {
      asset,
      reason,
      ...(filter ? { filter } : {})
    });
  }

  // Asset filters (scoped grants)

  export async function listFilters(asset: string): Promise<IAssetFilter[]> {
    const reply = await requestAPI<{ filters: IAssetFilter[] }>(
      `assets/${enc(asset)}/filters`
    );
    return reply.filters;
  }

  export function createFilter(
    asset: string,
    filter: IAssetFilterCreate
  ): Promise<IAssetFilter> {
    return post<IAssetFilter>(`assets/${enc(asset)}/filters`, filter);
  }

  export function deleteFilter(
    asset: string,
    name: string
  ): Promise<{ asset: string; deleted: string }> {
    return requestAPI<{ asset: string; deleted: string }>(
      `assets/${enc(asset)}/filters/${enc(name)}`,
      { method: 'DELETE' }
    );
  }

  export async function listRequests(
    incoming: boolean,
    status?: RequestStatus
  ): Promise<IAccessRequest[]> {
    const params = new URLSearchParams({ incoming: String(incoming) });
    if (status) {
      params.set('status', status);
    }
    const reply = await requestAPI<{ requests: IAccessRequest[] }>(
      `requests?${params.toString()}`
    );
    return reply.requests;
  }

  /** `filter` (approvals): scope the grant to that asset filter; it may narrow the request, never widen it. */
  export function decide(
    id: number,
    decision: 'approve' | 'reject',
    comment: string,
    filter?: string
  ): Promise<IAccessRequest> {
    return post<IAccessRequest>(`requests/${id}/${decision}`, {
      comment,
      ...(decision === 'approve' && filter ? { filter } : {})
    });
  }

  export async function listSubscriptions(
    incoming: boolean
  ): Promise<ISubscription[]> {
    const reply = await requestAPI<{ subscriptions: ISubscription[] }>(
      `subscriptions?incoming=${incoming}`
    );
    return reply.subscriptions;
  }

  /** revoke: an owner or steward ends it; cancel: the subscriber ends their own. */
  export function endSubscription(
    id: number,
    action: 'revoke' | 'cancel'
  ): Promise<ISubscription> {
    return post<ISubscription>(`subscriptions/${id}/${action}`, {});
  }

  // Model cards

  export async function listCards(
    filter?: ICardFilter
  ): Promise<ICardSummary[]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filter ?? {})) {
      if (value) {
        params.set(key, value);
      }
    }
    const query = params.toString() ? `?${params.toString()}` : '';
    return (await requestAPI<{ cards: ICardSummary[] }>(`cards${query}`)).cards;
  }

  /** The latest version (or `version`) with the list of versions. */
  export function getCard(name: string, version?: number): Promise<ICard> {
    const query = version ? `?version=${version}` : '';
    return requestAPI<ICard>(`cards/${enc(name)}${query}`);
  }

  export function transitionCard(
    name: string,
    action: CardAction,
    comment = ''
  ): Promise<ICard> {
    return post<ICard>(`cards/${enc(name)}/transition`, { action, comment });
  }

  export async function cardDiff(
    name: string,
    a: number,
    b: number
  ): Promise<ICardChange[]> {
    const reply = await requestAPI<{ changes: ICardChange[] }>(
      `cards/${enc(name)}/diff?a=${a}&b=${b}`
    );
    return reply.changes;
  }

  /** The server-rendered card: a standalone page (inline SVG charts, strict CSP) or a file. */
  export function exportCard(
    name: string,
    format: ExportFormat,
    version: number
  ): Promise<IDownload> {
    const ext = format === 'markdown' ? 'md' : format;
    return requestBlob(
      `cards/${enc(name)}/export?format=${format}&version=${version}`,
      `${name}-v${version}.${ext}`
    );
  }

  // Monitoring

  export async function dashboard(): Promise<IDashboardModel[]> {
    return (await requestAPI<{ models: IDashboardModel[] }>('dashboard'))
      .models;
  }

  export async function acknowledgeAlert(
    model: string,
    comment: string
  ): Promise<IAlertAck> {
    return post<IAlertAck>(`models/${enc(model)}/alerts/ack`, { comment });
  }

  export async function listExecutions(model: string): Promise<IExecution[]> {
    const reply = await requestAPI<{ executions: IExecution[] }>(
      `models/${enc(model)}/executions`
    );
    return reply.executions;
  }

  export function getExecution(
    model: string,
    id: number
  ): Promise<IExecutionDetail> {
    return requestAPI<IExecutionDetail>(`models/${enc(model)}/executions/${id}`);
  }

  // Deployments, stored monitors, their alerts

  export async function listDeployments(): Promise<IDeployment[]> {
    return (await requestAPI<{ deployments: IDeployment[] }>('deployments'))
      .deployments;
  }

  /** A deployment with its monitors. */
  export function getDeployment(name: string): Promise<IDeploymentDetail> {
    return requestAPI<IDeploymentDetail>(`deployments/${enc(name)}`);
  }

  export async function listMonitors(deployment?: string): Promise<IMonitor[]> {
    const query = deployment ? `?deployment=${enc(deployment)}` : '';
    return (await requestAPI<{ monitors: IMonitor[] }>(`monitors${query}`))
      .monitors;
  }

  /** A monitor with its executions (newest first, metrics when the caller may see them) and alerts. */
  export function getMonitor(name: string): Promise<IMonitorDetail> {
    return requestAPI<IMonitorDetail>(`monitors/${enc(name)}`);
  }

  /** run: now, returns the execution; start/stop: its schedule, returns the monitor. */
  export function monitorAction(
    name: string,
    action: 'run' | 'start' | 'stop'
  ): Promise<IMonitorExecution | IMonitor> {
    return post<IMonitorExecution | IMonitor>(
      `monitors/${enc(name)}/${action}`,
      {}
    );
  }

  export async function listMonitorAlerts(
    state: 'open' | 'resolved' | 'all' = 'open'
  ): Promise<IMonitorAlert[]> {
    return (await requestAPI<{ alerts: IMonitorAlert[] }>(`alerts?state=${state}`))
      .alerts;
  }

  export function acknowledgeMonitorAlert(
    id: number,
    comment: string
  ): Promise<IMonitorAlert> {
    return post<IMonitorAlert>(`alerts/${id}/ack`, { comment });
  }

  // Roles (admins)

  export function roleCatalog(): Promise<IRoleCatalog> {
    return requestAPI<IRoleCatalog>('roles/catalog');
  }

  export async function listRoles(): Promise<IRoleSummary[]> {
    return (await requestAPI<{ roles: IRoleSummary[] }>('roles')).roles;
  }

  export function previewRole(role: IRole): Promise<IRolePreview> {
    return post<IRolePreview>('roles/preview', { role });
  }

  export function saveRole(role: IRole): Promise<IRolePreview> {
    return post<IRolePreview>('roles', { role });
  }

  export function assignRole(
    role: string,
    who: { user: string } | { group: string },
    projects: string[]
  ): Promise<IAssignment> {
    return post<IAssignment>('assignments', { role, ...who, projects });
  }

  export function deleteRole(name: string): Promise<{ deleted: string }> {
    return requestAPI<{ deleted: string }>(`roles/${enc(name)}`, {
      method: 'DELETE'
    });
  }

  export function unassignRole(id: number): Promise<{ deleted: number }> {
    return requestAPI<{ deleted: number }>(`assignments/${id}`, {
      method: 'DELETE'
    });
  }
}

/** Turn anything thrown into the one line the panel shows. */
export function errorLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}

/** Save a downloaded file through the browser (an object URL and a temporary link). */
export function saveDownload({ blob, filename }: IDownload): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.style.display = 'none';
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
