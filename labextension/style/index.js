import './base.css';
import './notifications.css';
import './deployments.css';
import './cards.css';
import './dashboard.css';
import './lifecycle.css';
