"""nbconvert exporters for model cards (``mlgov-card`` HTML, ``mlgov-card-pdf`` PDF); see :mod:`.card`."""
