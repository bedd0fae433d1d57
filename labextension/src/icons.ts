import { LabIcon } from '@jupyterlab/ui-components';

/** A shield with a check mark: the "ML Governance" sidebar icon. */
const shieldSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M12 1.5 3.5 5v6.2c0 5.2 3.6 10 8.5 11.3 4.9-1.3 8.5-6.1 8.5-11.3V5L12 1.5zm0 2.2 6.5 2.7v4.8c0 4.1-2.7 8-6.5 9.2-3.8-1.2-6.5-5.1-6.5-9.2V6.4L12 3.7zm3.3 4.6-4.3 4.5-2.2-2.2-1.4 1.4 3.6 3.6 5.7-5.9-1.4-1.4z"/>
</svg>`;

export const mlgovIcon = new LabIcon({
  name: 'mlgov-jupyter:shield',
  svgstr: shieldSvg
});
