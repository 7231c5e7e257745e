"""The HTTP contract of the API function: bodies, presenters, error bodies, the request
guard and the OpenAPI document. Only the API function imports this package; the domain
takes domain requests (:mod:`reservations.commands`)."""
