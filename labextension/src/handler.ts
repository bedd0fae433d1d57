import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  FACETS,
  IAccessRequest,
  IAssetDetail,
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

/**
 * Call the mlgov REST API and return the parsed JSON body.
 * Failures throw an MlgovError carrying the server's JSON `message`.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
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
  const text = await response.text();
  let data: any = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText || 'error'}`;
    if (data && typeof data.message === 'string' && data.message) {
      message = data.message;
    } else if (response.status === 404) {
      message = `The mlgov server extension did not answer ${API_NAMESPACE}/${endPoint.split('?')[0]} (404): is mlgov_jupyter enabled on this server?`;
    }
    throw new MlgovError(message, response.status);
  }
  return data as T;
}

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
    return requestAPI<ISearchResult>(`assets?${params.toString()}`);
  }

  export function getAsset(name: string): Promise<IAssetDetail> {
    return requestAPI<IAssetDetail>(`assets/${encodeURIComponent(name)}`);
  }

  export function requestAccess(
    asset: string,
    reason: string
  ): Promise<IAccessRequest> {
    return post<IAccessRequest>('requests', { asset, reason });
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

  export function decide(
    id: number,
    decision: 'approve' | 'reject',
    comment: string
  ): Promise<IAccessRequest> {
    return post<IAccessRequest>(`requests/${id}/${decision}`, { comment });
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
}

/** Turn anything thrown into the one line the panel shows. */
export function errorLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0];
}
