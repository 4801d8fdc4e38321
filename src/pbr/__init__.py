"""pbr: re-create the evaluation of England's payment-by-results drug recovery pilot.

One module per stage: ``contract`` (the input format), ``synthetic`` (the default
source), ``extract`` (read and validate), ``link`` (persons and registers),
``journeys`` and ``outcomes`` (derive), ``models`` (fit), ``report`` (render).
"""

__version__ = "0.1.0"
