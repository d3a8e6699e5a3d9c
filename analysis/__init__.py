"""Statistics layer of harmonise: a study's analyses, declared in its plan.yaml, on the
warehouse views.

The package reads ONLY the warehouse's analysis views and reference tables
(``v_patient``, ``v_response``, ``v_adverse_event_worst``, ``ref_code``,
``study_config``); it never imports ``mappings`` or ``flows``. One concept per module:

``plan``      plan.yaml as typed records (``plan_build`` validates it); ``plan_sql``
              generates the analysis views from it; ``labels`` words for every code.
``views``     read the views into pandas frames (the only place that issues SELECTs
              against patient views, apart from the SQL tables of ``tables``); the
              report computes ``v_patient`` once (``views.materialised``), text as categoricals.
``km``        Kaplan-Meier curve, Greenwood variance, pointwise 95% band with a selectable
              transform (``log`` | ``log-log`` | ``plain``), median with CI the way R's
              ``survfit`` reports it (``km_band`` the bands, ``km_quantile`` the median
              rules, ``km_readout`` landmark rates, number at risk, reverse-KM follow-up).
``logrank``   k-group log-rank test with observed/expected events, the same test
              stratified by center; ``cox`` the center-stratified hazard ratio;
              ``comparisons`` runs the plan's comparisons.
``response``  ORR and DCR with exact Clopper-Pearson 95% confidence intervals.
``tables``    Table 1 (the plan's rows) and Table 2 (adverse events by worst grade),
              computed in SQL generated from the plan.
``collect``   every result of the report once (``results``: typed records); ``report``
              writes numbers/ and the page (``page`` parts, ``sections*``, ``render``
              through ``templates/report.html.j2``).

Conventions shared by every module
----------------------------------
* Time is in **months**, ``months = days / days_per_month`` (plan.yaml; the reference
  study's 30.4375 = 365.25 / 12), as the views compute it (``pfs_months``, ``os_months``).
* Confidence level 95% (``alpha = 0.05``, two-sided) unless a function says otherwise.
* Results are pandas DataFrames, or small frozen dataclasses carrying a ``summary``
  frame. Quantities that cannot be estimated are ``NaN`` (numbers) or ``None``
  ("not reached", NR); no function raises on a small or empty selection.
* Survival statistics come from lifelines; the pieces lifelines lacks (the ``log`` and
  ``plain`` bands, R's median rule, observed/expected events, the stratified log-rank
  test) are small documented functions tested against statsmodels / scipy.
"""
