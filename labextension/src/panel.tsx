import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React, { useCallback, useEffect, useState } from 'react';

import { AssetView } from './asset';
import { CardsView } from './cards';
import { CatalogView } from './catalog';
import { DashboardView } from './dashboard';
import { MlgovAPI, errorLine } from './handler';
import { NotificationsView, inbox, useUnread } from './notifications';
import { RequestsView } from './requests';
import { RolesView } from './roles';
import { ErrorSink, IWhoAmI } from './tokens';

type Tab = 'catalog' | 'cards' | 'dashboard' | 'requests' | 'inbox' | 'roles';

interface ISidebarProps {
  /** Bumped when the panel is shown or refreshed: every view reloads. */
  refreshKey: number;
  onRefresh: () => void;
}

function Sidebar({ refreshKey, onRefresh }: ISidebarProps): JSX.Element {
  const [me, setMe] = useState<IWhoAmI | null>(null);
  const [tab, setTab] = useState<Tab>('catalog');
  // Views mount when first shown, then stay (and keep their state) while hidden.
  const [seen, setSeen] = useState<ReadonlySet<Tab>>(new Set(['catalog', 'requests']));
  const [asset, setAsset] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(0);
  const unread = useUnread();

  const report: ErrorSink = useCallback(
    (e: unknown | null) => setError(e === null ? null : errorLine(e)),
    []
  );

  useEffect(() => {
    MlgovAPI.whoami().then(setMe, report);
  }, [refreshKey]);

  useEffect(
    () =>
      inbox.onShow(() => {
        setTab('inbox');
        setSeen(s => (s.has('inbox') ? s : new Set([...s, 'inbox'])));
      }),
    []
  );

  const tabButton = (id: Tab, label: string, badge = 0) => (
    <button
      role="tab"
      aria-selected={tab === id}
      className={`jp-mlgov-tab${tab === id ? ' jp-mod-active' : ''}`}
      onClick={() => {
        setTab(id);
        setSeen(s => (s.has(id) ? s : new Set([...s, id])));
        report(null);
      }}
    >
      {label}
      {badge > 0 && (
        <span className="jp-mlgov-count" title={`${badge} pending`}>
          {badge}
        </span>
      )}
    </button>
  );

  return (
    <div className="jp-mlgov">
      <div className="jp-mlgov-header">
        <h2 className="jp-mlgov-title">ML Governance</h2>
        {me && (
          <span className="jp-mlgov-user" title="Signed in as">
            {me.display_name || me.name}
          </span>
        )}
        <button
          className="jp-mlgov-iconButton"
          title="Refresh"
          aria-label="Refresh"
          onClick={() => {
            report(null);
            onRefresh();
          }}
        >
          <refreshIcon.react tag="span" />
        </button>
      </div>
      <div className="jp-mlgov-tabs" role="tablist">
        {tabButton('catalog', 'Catalog')}
        {tabButton('cards', 'Cards')}
        {tabButton('dashboard', 'Dashboard')}
        {tabButton('requests', 'Requests', pending)}
        {tabButton('inbox', 'Inbox', unread)}
        {me?.is_admin && tabButton('roles', 'Roles')}
      </div>
      {error !== null && (
        <div className="jp-mlgov-error" role="alert" title={error}>
          <span className="jp-mlgov-errorText">{error}</span>
          <button
            className="jp-mlgov-iconButton"
            aria-label="Dismiss error"
            onClick={() => setError(null)}
          >
            ×
          </button>
        </div>
      )}
      <div
        className="jp-mlgov-body"
        role="tabpanel"
        aria-label="Catalog"
        hidden={tab !== 'catalog'}
      >
        <div hidden={asset !== null}>
          <CatalogView
            refreshKey={refreshKey}
            onOpen={name => {
              report(null);
              setAsset(name);
            }}
            onError={report}
          />
        </div>
        {asset !== null && (
          <AssetView
            name={asset}
            me={me}
            refreshKey={refreshKey}
            onBack={() => setAsset(null)}
            onChanged={onRefresh}
            onError={report}
          />
        )}
      </div>
      <div
        className="jp-mlgov-body"
        role="tabpanel"
        aria-label="Cards"
        hidden={tab !== 'cards'}
      >
        {seen.has('cards') && (
          <CardsView
            me={me}
            refreshKey={refreshKey}
            onChanged={onRefresh}
            onError={report}
          />
        )}
      </div>
      <div
        className="jp-mlgov-body"
        role="tabpanel"
        aria-label="Dashboard"
        hidden={tab !== 'dashboard'}
      >
        {seen.has('dashboard') && (
          <DashboardView refreshKey={refreshKey} onError={report} />
        )}
      </div>
      {me?.is_admin && (
        <div
          className="jp-mlgov-body"
          role="tabpanel"
          aria-label="Roles"
          hidden={tab !== 'roles'}
        >
          {seen.has('roles') && (
            <RolesView
              refreshKey={refreshKey}
              onChanged={onRefresh}
              onError={report}
            />
          )}
        </div>
      )}
      <div
        className="jp-mlgov-body"
        role="tabpanel"
        aria-label="Inbox"
        hidden={tab !== 'inbox'}
      >
        {seen.has('inbox') && (
          <NotificationsView refreshKey={refreshKey} onError={report} />
        )}
      </div>
      <div
        className="jp-mlgov-body"
        role="tabpanel"
        aria-label="Requests"
        hidden={tab !== 'requests'}
      >
        <RequestsView
          me={me}
          refreshKey={refreshKey}
          onChanged={onRefresh}
          onPendingCount={setPending}
          onError={report}
        />
      </div>
    </div>
  );
}

/** How often a visible panel reloads, so new requests and decisions show up. */
const POLL_MS = 30_000;

/** The "ML Governance" left-area panel. */
export class MlgovPanel extends ReactWidget {
  private _refreshKey = 0;
  private _poll = 0;

  constructor() {
    super();
    this.addClass('jp-mlgov-panel');
  }

  dispose(): void {
    window.clearInterval(this._poll);
    super.dispose();
  }

  /** Reload every view (whoami, search, detail, requests). */
  refresh(): void {
    void inbox.poll();
    this._refreshKey += 1;
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.refresh();
    window.clearInterval(this._poll);
    this._poll = window.setInterval(() => {
      if (this.isVisible && document.visibilityState === 'visible') {
        this.refresh();
      }
    }, POLL_MS);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    window.clearInterval(this._poll);
  }

  protected render(): JSX.Element {
    return (
      <Sidebar
        refreshKey={this._refreshKey}
        onRefresh={() => this.refresh()}
      />
    );
  }
}
