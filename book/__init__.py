"""The course site: the numbered notebooks, executed, as a static Sphinx + MyST-NB web site.

``make book`` (or ``python -m book``) stages the site's sources in ``build/book/src`` and builds
HTML into ``build/book/html``. The modules:

* :mod:`book.executed`: executed copies of the notebooks (``build/executed``, written by the
  notebook test or by the site build itself), and whether a copy is still fresh;
* :mod:`book.static_outputs`: outputs a static page cannot show as they are (ipywidgets panels,
  plotly's own MIME type) turned into plain HTML;
* :mod:`book.site`: staging, executing what is missing and running Sphinx (the command line);
* ``book/conf.py``, ``book/index.md``, ``book/_static/``: the Sphinx project itself.
"""
