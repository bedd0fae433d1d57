import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { mlgovIcon } from './icons';
import { inbox } from './notifications';
import { MlgovPanel } from './panel';
import { PANEL_ID, PLUGIN_ID } from './tokens';

/** Adds the "ML Governance" panel to the left area. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'ML governance sidebar: catalog, model cards, dashboard, access requests, roles.',
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null) => {
    const panel = new MlgovPanel();
    panel.id = PANEL_ID;
    panel.title.icon = mlgovIcon;
    panel.title.caption = 'ML Governance';
    app.shell.add(panel, 'left', { rank: 650 });
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }
    // new notifications: a toast in the notification centre and a badge on the tab
    inbox.start(panel.title, () => app.shell.activateById(PANEL_ID));
    app.commands.addCommand('mlgov:open-sidebar', {
      label: 'Open ML Governance',
      icon: mlgovIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });
  }
};

export default plugin;
