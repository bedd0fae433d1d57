"""Subcommand name -> "module:Class", imported only when used (keeps %load_ext fast)."""

_P = "mlgov_jupyter.kernel.magics."

SUBCOMMANDS = {
    "help": _P + "help:Help",
    "whoami": _P + "whoami:WhoAmI",
    "login": _P + "login:Login",
    "projects": _P + "projects:Projects",
    "search": _P + "search:Search",
    "publish": _P + "publish:Publish",
    "register": _P + "register:Register",
    "subscribe": _P + "subscribe:Subscribe",
    "requests": _P + "requests:Requests",
    "approve": _P + "decide:Approve",
    "reject": _P + "decide:Reject",
    "subscriptions": _P + "subscriptions:Subscriptions",
    "revoke": _P + "subscriptions:Revoke",
    "cancel": _P + "subscriptions:Cancel",
    "use": _P + "use:Use",
    "filter": _P + "filters:Filter",
    "audit": _P + "audit:Audit",
    "card": _P + "card:Card",
    "role": _P + "role:RoleCommand",
    "project": _P + "role:ProjectCommand",
    "drift": _P + "drift:Drift",
    "check": _P + "check:Check",
    "dashboard": _P + "dashboard:Dashboard",
    "history": _P + "dashboard:History",
    "ack": _P + "dashboard:Ack",
    "sagemaker": _P + "sagemaker:Sagemaker",
    "channels": _P + "channels:Channels",
    "notifications": _P + "notifications:Notifications",
}
