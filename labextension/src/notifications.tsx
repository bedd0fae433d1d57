import { Notification } from '@jupyterlab/apputils';
import { Title } from '@lumino/widgets';
import React, { useEffect, useState } from 'react';

import { TimeAgo } from './components';
import { requestAPI } from './handler';
import { ErrorSink } from './tokens';

/** One in-Lab notification (GET api/mlgov/notifications). */
export interface INotification {
  id: number;
  event_id: number;
  event: string;
  subject: string;
  payload: { [key: string]: unknown };
  project: string | null;
  created_at: string;
  read: boolean;
}

interface IPage {
  notifications: INotification[];
  unread: number;
  total: number;
  latest: number | null;
}

/** How often the inbox asks for new notifications (one indexed count and a short page). */
const POLL_MS = 30_000;

const WARNING_EVENTS = new Set([
  'alert.raised',
  'monitor.missing',
  'monitor.inactive',
  'grant.expiring'
]);

/**
 * The user's notifications, polled every 30 s while the page is visible: new ones are shown
 * through JupyterLab's notification centre and the unread count on the sidebar's tab.
 */
export class Inbox {
  private _unread = 0;
  private _latest: number | null = null;
  private _timer = 0;
  private _title: Title<any> | null = null;
  private _open: () => void = () => undefined;
  private _listeners = new Set<(unread: number) => void>();
  private _openers = new Set<() => void>();

  /** Call `listener` with the unread count after every poll and change; returns its remover. */
  subscribe(listener: (unread: number) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Call `listener` when someone asks to see the inbox (a toast's button); returns its remover. */
  onShow(listener: () => void): () => void {
    this._openers.add(listener);
    return () => this._openers.delete(listener);
  }

  /** Bring the sidebar forward on its Inbox tab. */
  show(): void {
    this._open();
    this._openers.forEach(listener => listener());
  }

  get unread(): number {
    return this._unread;
  }

  /** Start polling; `title`: the sidebar tab that shows the badge; `open`: activates the sidebar. */
  start(title: Title<any>, open: () => void): void {
    this._title = title;
    this._open = open;
    void this.poll();
    window.clearInterval(this._timer);
    this._timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') {
        void this.poll();
      }
    }, POLL_MS);
  }

  dispose(): void {
    window.clearInterval(this._timer);
  }

  /** Ask for notifications newer than the last seen; toast each new unread one. */
  async poll(): Promise<void> {
    const after = this._latest === null ? '' : `&after=${this._latest}`;
    let page: IPage;
    try {
      page = await requestAPI<IPage>(
        `notifications?unread=true&page_size=10${after}`
      );
    } catch {
      return; // the next poll tries again; the sidebar shows errors of what the user does
    }
    if (this._latest !== null) {
      for (const n of [...page.notifications].reverse()) {
        Notification.emit(
          n.subject,
          WARNING_EVENTS.has(n.event) ? 'warning' : 'info',
          {
            autoClose: 8000,
            actions: [{ label: 'Open inbox', callback: () => this.show() }]
          }
        );
      }
    }
    this._latest = Math.max(this._latest ?? 0, page.latest ?? 0);
    this.setUnread(page.unread);
  }

  /** The page of notifications the inbox view shows (unread first). */
  list(page = 1): Promise<IPage> {
    return requestAPI<IPage>(`notifications?page=${page}&page_size=50`);
  }

  async markRead(ids: number[] | 'all'): Promise<void> {
    const body = ids === 'all' ? { all: true } : { ids };
    const r = await requestAPI<{ read: number; unread: number }>(
      'notifications/read',
      { method: 'POST', body: JSON.stringify(body) }
    );
    this.setUnread(r.unread);
  }

  private setUnread(count: number): void {
    this._unread = count;
    if (this._title) {
      // the tab shows the count as a badge (CSS: [data-mlgov-unread]::after)
      // keep the shell's own data (data-id) on the tab
      const { 'mlgov-unread': _old, ...rest } = this._title.dataset;
      this._title.dataset =
        count > 0 ? { ...rest, 'mlgov-unread': String(count) } : rest;
      this._title.caption =
        count > 0
          ? `ML Governance: ${count} unread notification${count === 1 ? '' : 's'}`
          : 'ML Governance';
    }
    this._listeners.forEach(listener => listener(count));
  }
}

/** The one inbox of this page. */
export const inbox = new Inbox();

/** The unread count, kept current from the inbox. */
export function useUnread(): number {
  const [count, setCount] = useState(inbox.unread);
  useEffect(() => {
    const remove = inbox.subscribe(setCount);
    return () => {
      remove();
    };
  }, []);
  return count;
}

interface INotificationsProps {
  refreshKey: number;
  onError: ErrorSink;
}

/** The inbox: notifications unread first, each marked read on a click, or all at once. */
export function NotificationsView({
  refreshKey,
  onError
}: INotificationsProps): JSX.Element {
  const [page, setPage] = useState<IPage | null>(null);
  const unread = useUnread();

  const load = () =>
    inbox.list().then(setPage, e => {
      onError(e);
    });

  useEffect(() => {
    void load();
  }, [refreshKey, unread]);

  const read = async (ids: number[] | 'all') => {
    onError(null);
    try {
      await inbox.markRead(ids);
      await load();
    } catch (error) {
      onError(error);
    }
  };

  if (page === null) {
    return <div className="jp-mlgov-empty">Loading…</div>;
  }
  return (
    <div className="jp-mlgov-inbox">
      <div className="jp-mlgov-inboxHeader">
        <span>
          {page.unread} unread of {page.total}
        </span>
        {page.unread > 0 && (
          <button className="jp-mod-styled jp-mlgov-button jp-mlgov-small" onClick={() => read('all')}>
            Mark all read
          </button>
        )}
      </div>
      {page.notifications.length === 0 && (
        <div className="jp-mlgov-empty">
          No notifications. Access requests, decisions, reviews, alerts and
          expiring grants that concern you arrive here.
        </div>
      )}
      <ul className="jp-mlgov-notifications">
        {page.notifications.map(n => (
          <li
            key={n.id}
            className={`jp-mlgov-notification${n.read ? '' : ' jp-mod-unread'}`}
            title={n.read ? undefined : 'Click to mark read'}
            onClick={() => !n.read && read([n.id])}
          >
            <div className="jp-mlgov-notificationSubject">{n.subject}</div>
            <div className="jp-mlgov-notificationMeta">
              <span className="jp-mlgov-notificationEvent">{n.event}</span>
              {n.project && <span> · {n.project}</span>}
              <span> · </span>
              <TimeAgo iso={n.created_at} />
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
