"""The night-vision evaluation suite built on uptflow: enhancement, detection, segmentation and traffic benchmarks.

Layout: ``registry`` (benchmarks, dataset types, detector / segmenter wrappers), ``benchmark`` (the contract every
task implements), ``metrics`` (the metric catalogue), ``datasets`` (one reader per dataset type), one package per
task (its benchmark class, models and command), ``suite`` (``run_all.py``'s stages) and ``tables`` (tables and the
HTML report); ``cli`` is the ``uptflow`` front door.
"""
