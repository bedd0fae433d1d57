import './base.css';
import './notifications.css';
