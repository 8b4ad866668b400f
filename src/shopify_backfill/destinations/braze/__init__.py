"""Braze as a destination: the backfill delivered to a Braze workspace via ``/users/track``.

The modules, bottom up: ``tables`` (credentials and mirror, the delivery ledger),
``objects`` (changes to Braze objects, pure), ``packing`` (objects into request bodies
of at most ``max_objects``), ``client`` (HTTP, retries, rate limit), ``ledger`` (the
request states), ``registry`` (adding and loading destinations) and ``destination``
(the ``Destination`` the job writes to).
"""
