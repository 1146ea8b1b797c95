"""Evaluation: metrics, classical baselines, the synthetic benchmark, real-photo scoring and the report.

Modules: ``metrics`` (PSNR/SSIM/IoU/F1/AUROC, optional feature distance), ``baselines`` (identity,
OpenCV Telea / Navier–Stokes), ``bench`` (the fixed held-out synthetic set), ``real`` (real-dev and
clean-photo figures), ``report`` (report.md, plots, compare), ``run`` (one whole run). Torch-free unless
the optional feature distance is used.
"""
