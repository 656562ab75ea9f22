"""``stats``, ``build`` and ``report``: length statistics and Figure 1, the Hub-layout dataset folder and its card,
the page about a build.

The stages are ``classit_data.dataset.stats.stats``, ``classit_data.dataset.build.build`` and
``classit_data.dataset.report.report`` (a package attribute of such a name is its module, so the package does
not re-export them).
"""
