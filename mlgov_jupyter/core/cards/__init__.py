"""Model cards core: SageMaker-compatible content, autopopulation, formats, diff and rendering.

Pure functions (inputs -> outputs); storage, versions and the status workflow live in the service.
Heavy libraries (scikit-learn, WeasyPrint, PyYAML) are imported only by the functions that need them.
"""

from .schema import (  # noqa: F401
    CARD_NAME_PATTERN,
    MAX_CONTENT_CHARS,
    METRIC_TYPES,
    RISK_RATINGS,
    SCHEMA_VERSION,
    SECTIONS,
    STATUSES,
    content_size,
    is_valid,
    load_schema,
    validate,
    validate_card_name,
    validate_status,
)
from .autopopulate import card_from_session, carry_over, data_hash, infer_problem_type  # noqa: F401
from .diff import describe, diff, format_diff  # noqa: F401
from .formats import (  # noqa: F401
    export_sagemaker_json,
    import_sagemaker_json,
    parse_sagemaker,
    sagemaker_create_request,
    to_markdown,
)
from .render import render_fragment, render_html, render_pdf, render_size, svg_chart  # noqa: F401
from .display import CARD_MIME, card_mimebundle, card_payload, cards_in_notebook  # noqa: F401
