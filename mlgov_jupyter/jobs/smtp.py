"""Sending one notification email over SMTP with the standard library's smtplib (well kept, no
dependency): STARTTLS and login when configured, a short timeout."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage


def message(sender: str, to: str, event: dict) -> EmailMessage:
    """The email of one event (``event``: id, event, subject, payload, project, timestamp)."""
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, to
    subject = " ".join(str(event["subject"]).split())  # one line: no header injection
    msg["Subject"] = (subject if subject.startswith("[mlgov]") else f"[mlgov] {subject}")[:200]
    msg["X-Mlgov-Event"], msg["X-Mlgov-Event-Id"] = event["event"], str(event["id"])
    lines = [event["subject"], "", f"event: {event['event']} (#{event['id']}) at {event['timestamp']}"]
    if event.get("project"):
        lines.append(f"project: {event['project']}")
    lines += ["", json.dumps(event.get("payload") or {}, indent=2, sort_keys=True, default=str)]
    msg.set_content("\n".join(lines))
    return msg


def send(cfg, to: str, event: dict) -> None:
    """Send one event to ``to`` with the SMTP settings of ``cfg`` (DeliveryConfig). Raises
    smtplib.SMTPException or OSError on failure; ValueError if no SMTP host is configured."""
    if not cfg.smtp_host:
        raise ValueError("no SMTP server configured (c.MlgovApp.smtp_host)")
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout) as smtp:
        if cfg.smtp_starttls:
            smtp.starttls()
        if cfg.smtp_user:
            smtp.login(cfg.smtp_user, cfg.smtp_password)
        smtp.send_message(message(cfg.smtp_from, to, event))
