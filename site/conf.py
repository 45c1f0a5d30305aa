"""Sphinx configuration of the course website (`make site`, tools/build_site.py).

tools/build_site.py copies this folder into a staging folder next to the
output, adds the executed lectures (``lectures/``), the student versions of
the homework (``homework/``) and MathJax (``_static/mathjax/``), and runs
Sphinx on it. Nothing here reaches the network: the notebooks are not
executed again and every script the pages load is served by the site itself.
"""

project = "gnnrec"
author = "the gnnrec authors"
copyright = "the gnnrec authors; MovieLens-100K by GroupLens (F. M. Harper and J. A. Konstan, 2015)"
html_title = "gnnrec: GNNs for recommender systems"

extensions = [
    "myst_nb",                   # notebooks and MyST Markdown
    "sphinx.ext.mathjax",        # math as \( \) and \[ \], typeset in the browser
    "sphinx.ext.githubpages",    # writes .nojekyll, so GitHub Pages serves _static/
]
exclude_patterns = ["_build", ".doctrees", "**.ipynb_checkpoints"]

# --- notebooks: already executed by `make course`; never run here
nb_execution_mode = "off"
nb_output_stderr = "remove"      # warnings printed by libraries are not course content
nb_ipywidgets_js = {}            # no widget JavaScript (it comes from a CDN); widgets show their static picture
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # a notebook may go from # to ###

# --- MathJax 3 from the npm package mathjax@3.2.2, copied into _static/mathjax by tools/build_site.py.
# Only the components listed here are shipped: startup (loader), core, TeX input (other TeX packages
# autoload from _static/mathjax/input/tex/extensions), CommonHTML output with its fonts, and the
# assistive MathML that screen readers read. The all-in-one files and the context menu are left out.
mathjax_path = "mathjax/startup.js"   # relative to _static/
mathjax3_config = {
    "loader": {"load": ["input/tex", "output/chtml", "a11y/assistive-mml"]},
}

# --- look and navigation
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": True,     # the page's notebook, from this site
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
