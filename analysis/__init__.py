"""Statistics layer of harmonise: the reference study's analyses on the warehouse views.

The package reads ONLY the warehouse's analysis views and reference tables
(``v_patient``, ``v_response``, ``v_adverse_event_worst``, ``ref_code``,
``study_config``); it never imports ``mappings`` or ``flows``. One concept per module:

``views``     read the views into pandas frames (the only place that issues SELECTs
              against patient views, apart from the SQL tables of ``tables``).
``km``        Kaplan-Meier curve, Greenwood variance, pointwise 95% band with a selectable
              transform (``log`` | ``log-log`` | ``plain``), median with CI the way R's
              ``survfit`` reports it, landmark rates, number at risk, reverse-KM follow-up.
``logrank``   k-group log-rank test with observed/expected events, the same test
              stratified by center, the center-stratified Cox hazard ratio, and the
              study's comparisons declared as data (:data:`logrank.COMPARISONS`).
``response``  ORR and DCR with exact Clopper-Pearson 95% confidence intervals.
``tables``    Table 1 (characteristics by histology) and Table 2 (adverse events by
              worst grade), computed in SQL on the warehouse.

Conventions shared by every module
----------------------------------
* Time is in **months**, ``months = days / 30.4375`` (365.25 / 12), as the views
  compute it (``pfs_months``, ``os_months``).
* Confidence level 95% (``alpha = 0.05``, two-sided) unless a function says otherwise.
* Results are pandas DataFrames, or small frozen dataclasses carrying a ``summary``
  frame. Quantities that cannot be estimated are ``NaN`` (numbers) or ``None``
  ("not reached", NR); no function raises on a small or empty selection.
* Survival statistics come from lifelines; the pieces lifelines lacks (the ``log`` and
  ``plain`` bands, R's median rule, observed/expected events, the stratified log-rank
  test) are small documented functions tested against statsmodels / scipy.
"""
