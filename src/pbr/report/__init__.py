"""Report stage: the self-contained HTML report rendered from the pipeline's results.

The report is one HTML file rendered with jinja2 from ``report/report.html.j2``; its
figures are drawn with matplotlib and embedded as base64 PNG, so it opens offline. Every
table is built as a small "view" (header cells with their ``scope``, body cells with their
text), and the template only lays them out. The published results it sets beside the
reproduced ones are :mod:`pbr.registry.published`. Imports run one way, down this list:

- :mod:`pbr.report.cells`: number formatting, table cells and views, labels;
- :mod:`pbr.report.disclosure`: disclosure control (:func:`~pbr.report.disclosure.protect`,
  the :class:`~pbr.report.disclosure.Disclosure` registry, counts in free text);
- :mod:`pbr.report.verdicts`: a result row's status, and whether a DiD row can carry a verdict;
- :mod:`pbr.report.inputs`: what the report reads (:func:`~pbr.report.inputs.load_inputs`);
- :mod:`pbr.report.figures`: the matplotlib figures;
- :mod:`pbr.report.descriptive`: the flow, rates, baseline and linkage sections;
- :mod:`pbr.report.did`: the main DiD table;
- :mod:`pbr.report.estimates`: inference methods compared, robustness checks, every model;
- :mod:`pbr.report.findings`: the findings box and the areas analysed;
- :mod:`pbr.report.methods`: outcome definitions, the model formula, the data source;
- :mod:`pbr.report.render`: :func:`~pbr.report.render.render_report` (the HTML and the
  extra outputs), provenance, the CSV tables.
"""
