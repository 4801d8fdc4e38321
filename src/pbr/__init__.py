"""pbr: re-create the evaluation of England's payment-by-results drug recovery pilot.

One module or package per stage: ``contract`` (the input format), ``synthetic`` (the default
source), ``extract`` (read and validate), ``link`` (persons and registers),
``derive`` (journeys and outcomes), ``fit`` (models and inference), ``report`` (render).
"""

__version__ = "0.1.0"
