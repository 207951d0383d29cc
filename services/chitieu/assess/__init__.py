"""Assessment of progress towards a target: the pure method, with no database, Airflow or HTTP."""

from chitieu.assess.core import CaseError, assess

__all__ = ["CaseError", "assess"]
