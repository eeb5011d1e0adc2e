#!/usr/bin/python3
"""cascade_results: read, compare and plot cascade result files.

    /usr/bin/python3 analysis/cascade_results.py compare results/
    /usr/bin/python3 analysis/cascade_results.py plot results/ --out figures/
    /usr/bin/python3 analysis/cascade_results.py info results/baseline.h5

or, from Python (analysis/ on sys.path):

    import cascade_results as cr
    ds = cr.open_results("results/")        # xarray Dataset, new `scenario` dimension
    cr.compare(ds)                          # pandas: EL, VaR, ES, s.e., ratio to baseline
    cr.by_group(ds, "es_contribution", "region", level=0.999)
    cr.plot_all(ds, "figures/")

Design: nothing here knows the list of datasets a result holds. What a table
or a plot shows is found from what the file declares: dimension names, the
`units` and `long_name` attributes, `X_se` partners (an estimate and its
Monte Carlo standard error), string labels along a dimension
(`segment_region`, `segment_sector`: the groupings). A dataset added to the
result format later (a `year` axis, mitigant payouts, risk contributions)
therefore appears in the loaded Dataset, in `estimates` and in `variables`
without a change here; only the named headline plots pick variables by name
(`loss`, `var`, `es_contagion_share`, ...) and skip what a file lacks.

Combining files along `scenario` (docs/PYTHON.md has the rules): variables
a file lacks are NaN for its scenario; numeric axes of different lengths
(`path` of runs with different --paths) are joined and padded with NaN;
string axes that differ between files (`scenario_file`) become positions
0..n-1 with their labels in `<dim>_label`; root attributes become
coordinates along `scenario`.

Errors a user can cause raise ResultError (bad input: exit code 3 from the
command line) or UsageError (exit code 2), with the file named. Every file
written (figures, CSV) is written under a temporary name and renamed.
"""
import argparse
import hashlib
import math
import os
import re
import signal
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import xarray as xr

# Exit codes of docs/CLI.md.
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INPUT, EXIT_IO = 0, 1, 2, 3, 4

# File names a folder of results is read for without looking inside; any
# other file is read only if it is HDF5 (manifest.json, batch.log, figures
# and CSV files are ignored). Names containing ".tmp." are writes in
# progress (or left by a crash) and are always ignored.
RESULT_SUFFIXES = (".h5", ".hdf5", ".he5", ".nc")

# Display names of the headline estimates; any other variable is shown by
# its own name.
DISPLAY_NAMES = {"el": "EL", "sd": "SD", "var": "VaR", "es": "ES"}

# The headline measures of the comparison table.
HEADLINE = ("el", "var", "es")


class ResultError(Exception):
    """Bad input: a file that is missing or is not a cascade result."""
    exit_code = EXIT_INPUT


class UsageError(Exception):
    """A bad argument: an unknown scenario, variable or level."""
    exit_code = EXIT_USAGE


# ---------------------------------------------------------------------------
# Reading

def is_temporary(path):
    """True for a write in progress (`NAME.tmp.<pid>`, as cascade writes)."""
    return ".tmp." in Path(path).name


SEAL_BYTES = 512
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_seal(path):
    """Raise ResultError unless PATH's seal matches its content.

    cascade writes a seal into the file's first 512 bytes (HDF5's user
    block): the SHA-256 and length of everything after them (docs/OUTPUT.md,
    "Seal"). A file changed since cascade wrote it, even by an attribute
    added with h5py, no longer matches. Files from before the seal start
    with HDF5's signature and pass unchecked.
    """
    with open(path, "rb") as f:
        head = f.read(SEAL_BYTES)
        if head.startswith(_HDF5_SIGNATURE):
            return
        m = re.fullmatch(rb"cascade-result-seal 1\nsha256 ([0-9a-f]{64})\nbytes ([0-9]{1,20})\n\0*",
                         head)
        if len(head) < SEAL_BYTES or not m:
            raise ResultError(f"{path}: not a cascade result (no seal and no HDF5 signature at its "
                              "start, or a damaged seal)")
        digest = hashlib.sha256()
        size = 0
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    if size != int(m.group(2)):
        raise ResultError(f"{path}: damaged or changed since cascade wrote it (got {size} bytes after its seal, expected "
                          f"{int(m.group(2))})")
    if digest.hexdigest() != m.group(1).decode():
        raise ResultError(f"{path}: damaged or changed since cascade wrote it (its content's SHA-256 "
                          "does not match its seal)")


def _check_result(path):
    """Raise ResultError unless PATH is a cascade result file."""
    path = Path(path)
    if not path.exists():
        raise ResultError(f"{path}: no such file or folder")
    if not path.is_file():
        raise ResultError(f"{path}: not a regular file")
    try:
        ok = h5py.is_hdf5(str(path))
    except OSError as e:
        raise ResultError(f"{path}: cannot read ({e.strerror or e})") from None
    if not ok:
        raise ResultError(f"{path}: not an HDF5 file (expected a cascade result file)")
    _check_seal(path)
    try:
        with h5py.File(path, "r") as f:
            if "scenario_name" not in f.attrs or "loss" not in f:
                raise ResultError(f"{path}: not a cascade result file (expected a root attribute "
                                  "scenario_name and a dataset loss)")
    except OSError as e:
        raise ResultError(f"{path}: cannot open as HDF5 ({e})") from None


def result_files(folder):
    """The result files of FOLDER, sorted by name.

    Temporaries (`*.tmp.*`), hidden files and sub-folders are ignored. A file
    named *.h5 (*.hdf5, *.he5, *.nc) or holding HDF5 must be a cascade result:
    anything else there raises ResultError, so that a damaged result is never
    silently left out of a comparison. Other files (manifest.json,
    batch.log, figures) are ignored.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultError(f"{folder}: not a folder")
    found = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or is_temporary(p) or not p.is_file():
            continue
        if p.suffix.lower() in RESULT_SUFFIXES:
            found.append(p)
            continue
        try:
            if h5py.is_hdf5(str(p)):
                found.append(p)
        except OSError:
            continue
    for p in found:
        _check_result(p)
    if not found:
        raise ResultError(f"{folder}: no result files (expected *.h5 files written by cascade run)")
    return found


def _label_coordinates(ds):
    """Make 1-D string variables along a dimension (segment_region, ...)
    coordinates, so that they group (`ds.el_by_segment.groupby("segment_region")`)
    and stay out of the data variables."""
    names = [n for n, v in ds.data_vars.items()
             if v.ndim == 1 and v.dims[0] in ds.dims and v.dims[0] != "path"
             and v.dtype.kind in "OSU" and n.startswith(v.dims[0] + "_")]
    return ds.set_coords(names)


def open_result(path, per_path=True):
    """One result file as an xarray Dataset (read into memory, file closed).

    per_path=False leaves out the variables along `path` (the per-path
    losses), which is all the summary tables need and much smaller.
    String labels along a dimension (`segment_region`, `segment_sector`)
    are coordinates. Raises ResultError naming the file if it is not a
    cascade result.
    """
    _check_result(path)
    try:
        with xr.open_dataset(path, engine="h5netcdf") as raw:
            ds = raw
            if not per_path:
                ds = ds.drop_vars([n for n, v in ds.variables.items() if "path" in v.dims])
            ds = ds.load()
    except ResultError:
        raise
    except Exception as e:  # h5netcdf refuses malformed files with many exception types
        raise ResultError(f"{path}: cannot read as a netCDF/HDF5 result ({e})") from None
    ds = _label_coordinates(ds)
    ds.encoding["source"] = str(path)
    return ds


def _scenario_labels(paths, names):
    """Scenario names, unless two files share one: then file names (stems),
    and full paths if those clash too."""
    for labels in (list(names), [Path(p).stem for p in paths], [str(p) for p in paths]):
        if len(set(labels)) == len(labels):
            return labels
    raise ResultError("the same file is given twice: " + ", ".join(map(str, paths)))


def _missing_like(var, sizes):
    """A variable shaped like VAR (with this file's sizes where it has the
    dimension) filled with NaN (None for strings)."""
    shape = tuple(sizes.get(d, n) for d, n in zip(var.dims, var.shape))
    if var.dtype.kind in "OSU":
        data = np.full(shape, None, dtype=object)
    else:
        data = np.full(shape, np.nan)
    return xr.Variable(var.dims, data, attrs=dict(var.attrs))


def _attribute_values(values):
    """Root attribute values across files as one numpy array."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                       for v in present):
        return np.array([np.nan if v is None else v for v in values],
                        dtype=float if any(v is None for v in values) else None)
    return np.array([None if v is None else str(v) for v in values], dtype=object)


def open_results(sources, per_path=True, baseline=None):
    """Result files as one Dataset along a new `scenario` dimension.

    SOURCES: a folder (its result files, see result_files), one file, or a
    list of files and folders. Scenarios are labelled by their scenario_name
    (by file name if two share one) and ordered baseline first (BASELINE, or
    the scenario named "baseline" if there is one), then as given (a
    folder's files by name). Coordinates along `scenario`: `source` (the
    file) and every root attribute of the files (`seed`, `paths`, ...; NaN
    or None where a file lacks it; `attr_<name>` if the name is taken).
    Attributes common to every file with one value stay in `ds.attrs`.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    paths = []
    for s in sources:
        paths.extend(result_files(s) if Path(s).is_dir() else [Path(s)])
    if not paths:
        raise ResultError("no result files given")
    sets = [open_result(p, per_path=per_path) for p in paths]
    labels = _scenario_labels(paths, [str(d.attrs["scenario_name"]) for d in sets])

    order = list(range(len(sets)))
    base = baseline if baseline is not None else ("baseline" if "baseline" in labels else None)
    if base is not None:
        if base not in labels:
            raise UsageError(f"no scenario {base!r} among the results (have: {', '.join(labels)})")
        order.sort(key=lambda i: labels[i] != base)
    sets = [sets[i] for i in order]
    paths = [paths[i] for i in order]
    labels = [labels[i] for i in order]

    # Dimensions whose labels differ between files line up by position.
    differing = set()
    for d in sets:
        for dim, index in d.indexes.items():
            if index.dtype.kind not in "iuf":
                for other in sets:
                    if dim in other.indexes and not other.indexes[dim].equals(index):
                        differing.add(dim)
    unlabelled = {dim for d in sets for dim in d.dims if dim not in d.indexes}
    for i, d in enumerate(sets):
        for dim in list(d.dims):
            if dim in differing or dim in unlabelled:
                d = _positional(d, dim)
        sets[i] = d

    # Coordinates that are not indexes (segment_region, ...) are shared by
    # the scenarios only if every file has the same; otherwise they become
    # variables along scenario like any other.
    for name in {n for d in sets for n in d.coords if n not in d.dims}:
        having = [d for d in sets if name in d.coords]
        if len(having) < len(sets) or not all(d[name].equals(having[0][name]) for d in having):
            sets = [d.reset_coords(name) if name in d.coords else d for d in sets]

    # Every file gets every variable (NaN where it lacks one), so that
    # concat keeps order and dtypes.
    first = {}
    for d in sets:
        for name, var in d.variables.items():
            if name not in d.dims:
                first.setdefault(name, (var, d))
    coord_names = {n for d in sets for n in d.coords if n not in d.dims}
    for i, d in enumerate(sets):
        missing = {n: vo for n, vo in first.items() if n not in d.variables}
        if not missing:
            continue
        for name, (var, owner) in missing.items():
            for dim in var.dims:
                if dim not in d.dims:
                    d = d.assign_coords({dim: owner[dim]})
            d[name] = _missing_like(var, dict(d.sizes))
        sets[i] = d.set_coords([n for n in coord_names if n in d.variables])

    try:
        ds = xr.concat([d.expand_dims(scenario=[label]) for d, label in zip(sets, labels)],
                       dim="scenario", join="outer", data_vars="all", coords="minimal",
                       compat="override", combine_attrs="override")
    except ValueError as e:
        raise ResultError("cannot combine " + ", ".join(map(str, paths)) + f": {e}") from None

    attr_names = []
    for d in sets:
        attr_names.extend(n for n in d.attrs if n not in attr_names)
    common = {}
    for name in attr_names:
        values = [d.attrs.get(name) for d in sets]
        coord = name if name not in ds.variables else f"attr_{name}"
        ds = ds.assign_coords({coord: ("scenario", _attribute_values(values))})
        if all(v is not None for v in values) and all(np.array_equal(v, values[0]) for v in values):
            common[name] = values[0]
    ds = ds.assign_coords(source=("scenario", np.array([str(p) for p in paths], dtype=object)))
    ds.attrs = common
    return ds


def _positional(ds, dim):
    """Index DIM by position 0..n-1, its string labels (if any) moved to the
    coordinate `<dim>_label`: for axes whose labels differ between files."""
    if dim in ds.variables:
        labels = ds[dim].variable.to_base_variable()
        ds = ds.drop_vars(dim)
        ds[f"{dim}_label"] = labels
    return ds.assign_coords({dim: np.arange(ds.sizes[dim])})


def as_scenarios(ds):
    """DS with a `scenario` dimension: a Dataset from open_result gets one of
    length 1, labelled by its scenario_name."""
    if "scenario" in ds.dims:
        return ds
    return ds.expand_dims(scenario=[str(ds.attrs.get("scenario_name", "result"))])


def baseline_of(ds, baseline=None):
    """The label of the baseline scenario: BASELINE if given (UsageError if
    unknown), else "baseline" if present, else the first scenario."""
    labels = [str(s) for s in as_scenarios(ds)["scenario"].values]
    if baseline is not None:
        if baseline not in labels:
            raise UsageError(f"no scenario {baseline!r} among the results (have: {', '.join(labels)})")
        return baseline
    return "baseline" if "baseline" in labels else labels[0]


# ---------------------------------------------------------------------------
# Tables (pandas)

def variables(ds):
    """What the result holds: one row per variable with its dimensions,
    units, long_name, standard-error partner and confidence-interval
    partners. Nothing is listed by hand."""
    rows = []
    for name, var in ds.data_vars.items():
        if name[-3:] in ("_se", "_lo", "_hi") and name[:-3] in ds.data_vars:
            continue
        dims = [d for d in var.dims if d != "scenario"]
        rows.append({"variable": name, "dims": ", ".join(dims),
                     "units": var.attrs.get("units", ""),
                     "long_name": var.attrs.get("long_name", ""),
                     "se": f"{name}_se" if f"{name}_se" in ds.data_vars else "",
                     "ci": (f"{name}_lo, {name}_hi"
                            if f"{name}_lo" in ds.data_vars and f"{name}_hi" in ds.data_vars else "")})
    return pd.DataFrame(rows).set_index("variable")


def estimator_names(ds):
    """Variables that have a standard-error partner `X_se` and no `path`
    axis: the Monte Carlo estimates, in file order."""
    return [n for n in ds.data_vars
            if f"{n}_se" in ds.data_vars and not n.endswith("_se") and "path" not in ds[n].dims]


def _coord_text(dim, value):
    if dim == "level":
        return f"{float(value) * 100:g}%"
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode()
    if isinstance(value, (float, np.floating)):
        return f"{dim}={float(value):g}"
    return f"{dim}={value}"


def measure_label(name, coords=()):
    """'ES 99.9%' for es at level 0.999; other axes as dim=value."""
    parts = [DISPLAY_NAMES.get(name, name)]
    parts.extend(_coord_text(d, v) for d, v in coords)
    return " ".join(parts)


def estimates(ds, names=None, baseline=None):
    """Every Monte Carlo estimate with its standard error, one row per
    (scenario, estimate, coordinate): columns scenario, variable, one column
    per further axis of any estimate (level, ...), measure (display label),
    value, se, ci_low and ci_high (the 95% confidence interval, from the
    `X_lo` and `X_hi` partners; NaN for files without them), ratio (value /
    the baseline scenario's value), units, long_name. NAMES restricts the variables (default: every variable with
    an `X_se` partner). Values are in the file's units.
    """
    ds = as_scenarios(ds)
    base = baseline_of(ds, baseline)
    names = estimator_names(ds) if names is None else list(names)
    for n in names:
        if n not in ds.data_vars or f"{n}_se" not in ds.data_vars:
            raise UsageError(f"no estimate {n!r} with a standard error {n}_se in the results "
                             f"(have: {', '.join(estimator_names(ds))})")
    frames = []
    for n in names:
        value, se = ds[n], ds[f"{n}_se"]
        other = [d for d in value.dims if d != "scenario"]
        parts = {"value": value, "se": se}
        for col, suffix in (("ci_low", "_lo"), ("ci_high", "_hi")):
            parts[col] = ds[n + suffix] if n + suffix in ds.data_vars else xr.full_like(value, np.nan)
        df = xr.Dataset(parts).to_dataframe().reset_index()
        df = df[["scenario", *other, "value", "se", "ci_low", "ci_high"]]
        base_rows = df[df["scenario"] == base].drop(columns=["scenario", "se", "ci_low", "ci_high"])
        base_rows = base_rows.rename(columns={"value": "base"})
        df = df.merge(base_rows, on=other, how="left") if other else df.assign(base=base_rows["base"].iloc[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            df["ratio"] = df["value"] / df["base"]
        df = df.drop(columns="base")
        df.insert(1, "variable", n)
        df.insert(2, "measure", [measure_label(n, [(d, r[d]) for d in other]) for _, r in df.iterrows()])
        df["units"] = value.attrs.get("units", "")
        df["long_name"] = value.attrs.get("long_name", "")
        frames.append(df)
    out = pd.concat(frames, ignore_index=True, sort=False)
    order = {s: i for i, s in enumerate(str(x) for x in ds["scenario"].values)}
    out["scenario"] = out["scenario"].astype(str)
    out = out.sort_values(["scenario"], key=lambda s: s.map(order), kind="stable")
    axes = [c for c in out.columns if c not in ("scenario", "variable", "measure", "value", "se",
                                                   "ci_low", "ci_high", "ratio", "units",
                                                   "long_name")]
    out = out[["scenario", "variable", "measure", *axes, "value", "se", "ci_low", "ci_high", "ratio",
               "units", "long_name"]]
    return out.dropna(subset=["value"]).reset_index(drop=True)


def compare(ds, baseline=None, names=HEADLINE):
    """The comparison table: one row per scenario; columns (measure, stat)
    with stat value, se, ci_low, ci_high (95% interval) and ratio (to the
    baseline). Default measures: EL,
    VaR and ES at every level in the files; names=None gives every
    estimate. Values in the files' units (CNY)."""
    ds = as_scenarios(ds)
    present = [n for n in (names if names is not None else estimator_names(ds)) if n in ds.data_vars]
    long = estimates(ds, names=present, baseline=baseline)
    measures = list(dict.fromkeys(long["measure"]))
    stats = ["value", "se", "ci_low", "ci_high", "ratio"]
    wide = long.pivot(index="scenario", columns="measure", values=stats)
    wide = wide.swaplevel(0, 1, axis=1)
    wide = wide.reindex(columns=pd.MultiIndex.from_product([measures, stats]))
    wide = wide.reindex([str(s) for s in ds["scenario"].values if str(s) in wide.index])
    wide.columns.names = ["measure", "stat"]
    return wide


_Z95 = 1.959963984540054


def _hall(x, z=_Z95):
    """Hall's (1992) skewness-corrected interval for the mean of x
    (docs/MODEL.md, Confidence intervals): (low, high)."""
    n = len(x)
    m = x.mean()
    d = x - m
    m2, m3 = (d * d).mean(), (d ** 3).mean()
    s = math.sqrt(max(m2, 0.0))
    if not s > 0:
        return m, m
    g = m3 / s ** 3 / math.sqrt(n)
    tu, tl = z, -z
    if abs(g) > 1e-12:
        tu = 3 / g * (np.cbrt(1 + g * (z - g / 6)) - 1)
        tl = 3 / g * (np.cbrt(1 + g * (-z - g / 6)) - 1)
    return m - tu * s / math.sqrt(n), m - tl * s / math.sqrt(n)


def _var_es(loss, w, a):
    """VaR and ES at level a of weighted paths, as the program estimates
    them (sim/engine/stats.h): VaR the smallest loss whose weighted tail
    beyond it is at most n (1 - a)."""
    n = len(loss)
    order = np.lexsort((np.arange(n), loss))
    x, ww = loss[order], w[order]
    beyond = np.concatenate([np.cumsum(ww[::-1])[::-1][1:], [0.0]])   # sum of w above each rank
    target = n * (1 - a) + 1e-9 * a * n
    k = int(np.argmax(beyond <= target))
    v = x[k]
    return v, v + (ww[k + 1:] * (x[k + 1:] - v)).sum() / (n * (1 - a))


def differences(ds, baseline=None, level=0.999):
    """Each scenario's ES at LEVEL minus the baseline's and as a ratio to
    it, with 95% intervals, as `cascade compare` computes them
    (docs/OUTPUT.md, Comparing): path by path when the runs share seed,
    book, paths and importance sampling (common random numbers) and have
    per-path losses (open
    with per_path=True), else as independent runs from the files' own
    intervals. One row per scenario:
    es, es_base, diff, diff_low, diff_high, ratio, ratio_low, ratio_high,
    paired (bool), gain (how many times narrower the paired interval is
    than the independent one; NaN when not paired). Values in CNY."""
    ds = as_scenarios(ds)
    base = baseline_of(ds, baseline)
    if "level" not in ds.dims or not np.any(np.isclose(ds["level"].values, level)):
        raise UsageError(f"no level {level} in the results")
    lv = ds["level"].values[np.isclose(ds["level"].values, level)][0]
    b = ds.sel(scenario=base)
    info = runs(ds)
    rows = []
    for sc in (str(x) for x in ds["scenario"].values):
        r = ds.sel(scenario=sc)
        es, es_b = float(r["es"].sel(level=lv)), float(b["es"].sel(level=lv))
        lo_i = es - es_b - math.hypot(es - float(r["es_lo"].sel(level=lv)),
                                      float(b["es_hi"].sel(level=lv)) - es_b)
        hi_i = es - es_b + math.hypot(float(r["es_hi"].sel(level=lv)) - es,
                                      es_b - float(b["es_lo"].sel(level=lv)))
        row = {"scenario": sc, "es": es, "es_base": es_b, "diff": es - es_b, "diff_low": lo_i,
               "diff_high": hi_i, "ratio": es / es_b, "paired": False, "gain": np.nan}
        se_r = es / es_b * math.hypot(float(r["es_se"].sel(level=lv)) / es,
                                      float(b["es_se"].sel(level=lv)) / es_b)
        row["ratio_low"], row["ratio_high"] = row["ratio"] - _Z95 * se_r, row["ratio"] + _Z95 * se_r
        same = all(k in info.columns and str(info.loc[sc, k]) == str(info.loc[base, k])
                   for k in ("seed", "loans", "portfolio_source"))
        if "importance_sampling" in info.columns:   # absent: off
            same = same and str(info.loc[sc, "importance_sampling"]) == str(
                info.loc[base, "importance_sampling"])
        if same and "loss" in ds.data_vars and "path" in ds["loss"].dims and sc != base:
            la, lb = r["loss"].values, b["loss"].values
            ok_a, ok_b = np.isfinite(la), np.isfinite(lb)
            if ok_a.sum() == ok_b.sum() and np.array_equal(ok_a, ok_b) and ok_a.sum() > 1:
                la, lb = la[ok_a], lb[ok_b]
                wa = r["weight"].values[ok_a] if "weight" in ds.data_vars else np.ones_like(la)
                wb = b["weight"].values[ok_b] if "weight" in ds.data_vars else np.ones_like(lb)
                wa = np.where(np.isfinite(wa), wa, 1.0)
                wb = np.where(np.isfinite(wb), wb, 1.0)
                va, ea = _var_es(la, wa, lv)
                vb, eb = _var_es(lb, wb, lv)
                ha = np.where(la > va, wa * (la - va), 0.0) / (1 - lv)
                hb = np.where(lb > vb, wb * (lb - vb), 0.0) / (1 - lv)
                psi = ha - hb
                lo, hi = _hall(psi)
                d = ea - eb
                row.update(diff=d, diff_low=d + lo - psi.mean(), diff_high=d + hi - psi.mean())
                psi2 = ha / eb - ea / eb * hb / eb
                lo, hi = _hall(psi2)
                row.update(ratio=ea / eb, ratio_low=ea / eb + lo - psi2.mean(),
                           ratio_high=ea / eb + hi - psi2.mean(), paired=True,
                           gain=(hi_i - lo_i) / (row["diff_high"] - row["diff_low"]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("scenario")


def groupings(ds, dim="segment"):
    """The groupings along DIM the file declares: {'region': 'segment_region',
    'sector': 'segment_sector'} for `segment`."""
    out = {}
    for name, var in ds.variables.items():
        if var.dims == (dim,) and name.startswith(dim + "_") and var.dtype.kind in "OSU":
            out[name[len(dim) + 1:]] = name
    return out


def _select(da, sel):
    for dim, value in sel.items():
        if dim not in da.dims:
            continue
        try:
            if da[dim].dtype.kind == "f":  # 0.999 as typed may differ from the file's in the last bit
                da = da.sel({dim: value}, method="nearest", tolerance=1e-9)
            else:
                da = da.sel({dim: value})
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"{da.name}: no {dim} {value!r} (have: "
                             f"{', '.join(map(str, da[dim].values))})") from None
    return da


def by_group(ds, variable="el_by_segment", group="region", **sel):
    """VARIABLE (an axis `segment`) summed by GROUP (a grouping the file
    declares: region, sector): a DataFrame with one row per scenario and one
    column per group, in the variable's units. Other axes are chosen with
    keywords (level=0.999) or become column levels."""
    ds = as_scenarios(ds)
    if variable not in ds.data_vars:
        raise UsageError(f"no variable {variable!r} in the results")
    da = _select(ds[variable], sel)
    dim = next((d for d in da.dims if d != "scenario" and groupings(ds, d)), None)
    if dim is None:
        raise UsageError(f"{variable}: no axis with groupings (dims: {', '.join(da.dims)})")
    groups = groupings(ds, dim)
    if group not in groups:
        raise UsageError(f"{variable}: no grouping {group!r} along {dim} (have: {', '.join(groups)})")
    key = groups[group]
    summed = da.groupby(ds[key]).sum(dim, skipna=True, min_count=1)
    rest = [d for d in summed.dims if d not in ("scenario", key)]
    series = summed.to_series()
    table = series.unstack([key, *rest]) if rest else series.unstack(key)
    # keep the groups in file order (region-major segments: shanghai first)
    first_seen = list(dict.fromkeys(str(v) for v in ds[key].values))
    if not rest:
        table = table.reindex(columns=[g for g in first_seen if g in table.columns])
    table = table.reindex([str(s) for s in ds["scenario"].values])
    table.columns.name = group
    table.attrs["units"] = ds[variable].attrs.get("units", "")
    return table


def path_weights(ds):
    """The paths' weights as a DataFrame (rows path, columns scenario): the
    file's `weight` (importance sampling: every mean over paths is
    sum(weight x value) / paths, docs/OUTPUT.md), 1 for files without one."""
    ds = as_scenarios(ds)
    if "loss" not in ds.data_vars or "path" not in ds["loss"].dims:
        raise UsageError("no per-path results (opened with per_path=False?)")
    if "weight" in ds.data_vars:
        w = ds["weight"].where(ds["weight"].notnull() | ds["loss"].isnull(), 1.0)
    else:
        w = xr.ones_like(ds["loss"])
    return w.transpose("path", "scenario").to_pandas()


def per_path(ds, variable="loss"):
    """A per-path variable as a DataFrame: rows path, columns scenario.
    Results made with importance sampling weight their paths: combine with
    path_weights(ds), never average the rows plainly."""
    ds = as_scenarios(ds)
    if variable not in ds.data_vars or "path" not in ds[variable].dims:
        raise UsageError(f"no per-path variable {variable!r} in the results (opened with per_path=False?)")
    return ds[variable].transpose("path", "scenario", ...).to_pandas()


def runs(ds):
    """One row per scenario: the file and its root attributes (seed, paths,
    loans, cascade_version, ...)."""
    ds = as_scenarios(ds)
    cols = {n: [c.item() if hasattr(c, "item") else c for c in ds[n].values]
            for n, c in ds.coords.items() if c.dims == ("scenario",) and n != "scenario"}
    if not cols:  # a single file's Dataset: its attributes
        return pd.DataFrame([ds.attrs], index=[str(s) for s in ds["scenario"].values])
    return pd.DataFrame(cols, index=[str(s) for s in ds["scenario"].values])


# ---------------------------------------------------------------------------
# Plots (matplotlib, Agg backend: files only)

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def money_scale(units):
    """(divisor, label) to show a quantity in UNITS: CNY is shown in CNY mn."""
    if units == "CNY":
        return 1e6, "CNY mn"
    return 1.0, units or ""


def write_atomically(path, write):
    """Call write(tmp) on a temporary name in PATH's folder, then rename it
    to PATH: the file is complete or absent."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    return path


def save_figure(fig, path):
    """Write FIG to PATH (format from its suffix: .png, .svg, .pdf), atomically."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise UsageError(f"{path}: unknown figure format {fmt!r} (expected png, svg or pdf)")
    write_atomically(path, lambda tmp: fig.savefig(tmp, format=fmt, bbox_inches="tight"))
    _pyplot().close(fig)
    return path


def _scenarios_with(ds, variable):
    """Scenario labels for which VARIABLE has any value."""
    da = ds[variable]
    other = [d for d in da.dims if d != "scenario"]
    has = da.notnull().any(other) if other else da.notnull()
    return [str(s) for s, ok in zip(ds["scenario"].values, has.values) if ok]


def plot_loss_distribution(ds, variable="loss", bins=60, upto=0.999):
    """Histogram (density) of a per-path variable for every scenario, on
    shared bins up to the UPTO quantile of all scenarios' values (the far
    tail is the exceedance curve's job); a dashed line marks each
    scenario's mean (`el` for `loss`). Returns the figure."""
    ds = as_scenarios(ds)
    df = per_path(ds, variable)
    div, unit = money_scale(ds[variable].attrs.get("units", ""))
    values = df.to_numpy(dtype=float) / div
    finite = values[np.isfinite(values)]
    top = float(np.quantile(finite, upto)) if finite.size else 1.0
    low = min(float(finite.min()), 0.0) if finite.size else 0.0
    edges = np.linspace(low, top if top > low else low + 1.0, bins + 1)
    weights = path_weights(ds)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for col in df.columns:
        v = df[col].to_numpy(dtype=float) / div
        w = weights[col].to_numpy(dtype=float)
        ok = np.isfinite(v)
        v, w = v[ok], w[ok]
        if v.size:
            # weighted (importance sampling): each path counts its weight
            _, _, patches = ax.hist(v, bins=edges, weights=w / v.size / np.diff(edges)[0],
                                    histtype="step", linewidth=1.4, label=str(col))
            ax.axvline((w * v).sum() / v.size, color=patches[0].get_edgecolor(), linestyle="--",
                       linewidth=1)
    ax.set_xlabel(f"{ds[variable].attrs.get('long_name', variable)} [{unit}]")
    ax.set_ylabel(f"density [1/{unit}]" if unit else "density")
    ax.set_title(f"Distribution of {variable} (dashed: mean; up to the {upto:.1%} quantile)",
                 fontsize="medium")
    ax.legend(fontsize="small")
    return fig


def plot_exceedance(ds, variable="loss"):
    """Empirical exceedance curve P(L > x) of a per-path variable (log y),
    one line per scenario, with VaR at each level marked when the file has
    `var` (for `loss`). Returns the figure."""
    ds = as_scenarios(ds)
    df = per_path(ds, variable)
    div, unit = money_scale(ds[variable].attrs.get("units", ""))
    weights = path_weights(ds)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for col in df.columns:
        v = df[col].to_numpy(dtype=float)
        w = weights[col].to_numpy(dtype=float)
        ok = np.isfinite(v)
        order = np.argsort(v[ok], kind="stable")
        v, w = v[ok][order], w[ok][order]
        m = v.size
        if m == 0:
            continue
        # P(L > v_(k)) = sum of the weights above the k-th smallest / m
        # ((m - k) / m without weights); the largest has none above it and
        # cannot be drawn on a log axis.
        p = (np.cumsum(w[::-1])[::-1] - w) / m
        line, = ax.step(v[:-1] / div, p[:-1], where="post", label=str(col))
        if variable == "loss" and "var" in ds.data_vars and "level" in ds["var"].dims:
            var = ds["var"].sel(scenario=col)
            ok = var.notnull().values
            ax.plot(var.values[ok] / div, 1 - var["level"].values[ok], "o", color=line.get_color(),
                    markersize=4)
    ax.set_yscale("log")
    ax.set_xlabel(f"{ds[variable].attrs.get('long_name', variable)} x [{unit}]")
    ax.set_ylabel("P(L > x)")
    title = "Exceedance probability"
    if variable == "loss" and "var" in ds.data_vars:
        title += " (dots: VaR at each level)"
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _bars(ax, table, scale):
    """Grouped bars: one group per column of TABLE, one bar per row."""
    n = max(len(table.index), 1)
    width = 0.8 / n
    x = np.arange(len(table.columns))
    for i, (label, row) in enumerate(table.iterrows()):
        ax.bar(x + (i - (n - 1) / 2) * width, row.to_numpy(dtype=float) / scale, width, label=str(label))
    ax.set_xticks(x)
    ax.set_xticklabels([str(c) for c in table.columns], rotation=30, ha="right")


def plot_by_group(ds, variables=("el_by_segment", "es_contribution"), level=0.999):
    """Each of VARIABLES (an axis `segment`) summed by every grouping the file
    declares (region, sector): one panel per (variable, grouping), one bar
    per scenario. Variables with a `level` axis are taken at LEVEL."""
    ds = as_scenarios(ds)
    names = [v for v in variables if v in ds.data_vars]
    if not names:
        raise UsageError(f"none of {', '.join(variables)} in the results")
    groups = groupings(ds, "segment")
    if not groups:
        raise UsageError("the results declare no grouping of segments (segment_region, ...)")
    plt = _pyplot()
    fig, axes = plt.subplots(len(names), len(groups), figsize=(5.5 * len(groups), 3.8 * len(names)),
                             squeeze=False)
    for r, name in enumerate(names):
        div, unit = money_scale(ds[name].attrs.get("units", ""))
        sel = {"level": level} if "level" in ds[name].dims else {}
        for c, group in enumerate(groups):
            ax = axes[r][c]
            _bars(ax, by_group(ds, name, group, **sel), div)
            what = measure_label(name, [("level", level)] if sel else [])
            ax.set_title(f"{what} by {group}\n{ds[name].attrs.get('long_name', '')}", fontsize="small")
            ax.set_ylabel(unit)
            ax.grid(True, axis="y", alpha=0.3)
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_contagion_share(ds, variable="es_contagion_share"):
    """Contagion's share of ES at each level (bars), for the scenarios that
    have contagion. Raises UsageError if none has."""
    ds = as_scenarios(ds)
    if variable not in ds.data_vars or not _scenarios_with(ds, variable):
        raise UsageError(f"no scenario has {variable} (contagion off in every result)")
    keep = _scenarios_with(ds, variable)
    da = ds[variable].sel(scenario=keep)
    table = da.transpose("scenario", ...).to_pandas()
    if isinstance(table, pd.Series):
        table = table.to_frame(variable)
    if "level" in da.dims:
        table.columns = [_coord_text("level", c) for c in table.columns]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    percent = da.attrs.get("units", "1") == "1"
    _bars(ax, table, 0.01 if percent else 1.0)
    ax.set_ylabel("% of ES" if percent else da.attrs.get("units", ""))
    ax.set_xlabel("ES level" if "level" in da.dims else "")
    ax.set_title(da.attrs.get("long_name", variable), fontsize="medium")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


PLOTS = (
    ("loss_distribution", plot_loss_distribution),
    ("exceedance", plot_exceedance),
    ("losses_by_region_sector", plot_by_group),
    ("contagion_share", plot_contagion_share),
)


def plot_all(ds, out, fmt="png", level=0.999):
    """Write every headline plot that the results support to folder OUT
    (created if missing) as NAME.FMT; returns the paths written. Plots need
    what they show: the per-path ones need per-path variables, the contagion
    one a result with contagion; those that cannot be drawn are skipped."""
    ds = as_scenarios(ds)
    if "level" in ds.dims and not np.isclose(ds["level"].values, level, rtol=0, atol=1e-9).any():
        raise UsageError(f"no level {level} in the results (have: "
                         f"{', '.join(map(str, ds['level'].values))})")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"{out}: cannot create the folder ({e.strerror or e})") from None
    written = []
    for name, plot in PLOTS:
        try:
            fig = plot(ds, level=level) if plot is plot_by_group else plot(ds)
        except UsageError:
            continue
        written.append(save_figure(fig, out / f"{name}.{fmt}"))
    return written


# ---------------------------------------------------------------------------
# Command line

def _fmt(x, digits=1):
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_estimates(table):
    """The tidy estimates table as text: money in CNY mn."""
    lines = []
    width = max([len("scenario")] + [len(s) for s in table["scenario"]]) + 2
    mwidth = max([len("measure")] + [len(s) for s in table["measure"]]) + 2
    lines.append(f"{'scenario':{width}s}{'measure':{mwidth}s}{'value':>14s}{'s.e.':>12s}"
                 f"{'95% interval':>26s}{'/ base':>9s}  units")
    for _, r in table.iterrows():
        div, unit = money_scale(r["units"])
        digits = 1 if div > 1 else 4
        ci = ""
        if "ci_low" in r and not (math.isnan(r["ci_low"]) or math.isnan(r["ci_high"])):
            ci = f"{_fmt(r['ci_low'] / div, digits)} .. {_fmt(r['ci_high'] / div, digits)}"
        lines.append(f"{r['scenario']:{width}s}{r['measure']:{mwidth}s}"
                     f"{_fmt(r['value'] / div, digits):>14s}{_fmt(r['se'] / div, digits):>12s}"
                     f"{ci:>26s}{_fmt(r['ratio'], 3):>9s}  {unit}")
    return "\n".join(lines)


def format_groups(table, title):
    div, unit = money_scale(table.attrs.get("units", ""))
    text = (table / div).to_string(float_format=lambda v: f"{v:.1f}", na_rep="")
    return f"{title} [{unit}]\n{text}"


def _level(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"a level is in (0, 1), got {text}")
    return v


def _cmd_compare(args):
    ds = open_results(args.results, per_path=False, baseline=args.baseline)
    names = None if args.all else HEADLINE
    table = estimates(ds, names=[n for n in (names or estimator_names(ds)) if n in ds.data_vars],
                      baseline=args.baseline)
    groups = []  # all made before anything is printed: a bad --by or --level prints nothing
    for group in args.by:
        for var in ("el_by_segment", "es_contribution"):
            if var in ds.data_vars:
                sel = {"level": args.level} if "level" in ds[var].dims else {}
                label = measure_label(var, [("level", args.level)] if sel else [])
                groups.append(format_groups(by_group(ds, var, group, **sel), f"{label} by {group}"))
    print(f"baseline: {baseline_of(ds, args.baseline)}")
    print(format_estimates(table))
    for text in groups:
        print()
        print(text)
    if args.csv:
        write_atomically(args.csv, lambda tmp: table.to_csv(tmp, index=False))
    return EXIT_OK


def _cmd_plot(args):
    ds = open_results(args.results, per_path=True, baseline=args.baseline)
    plot_all(ds, args.out, fmt=args.format, level=args.level)
    return EXIT_OK


def _cmd_info(args):
    ds = open_results(args.results, per_path=False)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70,
                           "display.max_rows", 500, "display.max_columns", 50):
        keep = [c for c in ("source", "seed", "paths", "loans", "kernel", "contagion",
                            "cascade_version", "cascade_commit") if c in runs(ds).columns]
        print(runs(ds)[keep].to_string())
        print()
        print(variables(ds).to_string())
    return EXIT_OK


def parser():
    p = argparse.ArgumentParser(
        prog="cascade_results.py",
        description="Compare and plot cascade result files (docs/PYTHON.md). RESULTS are result "
                    "files or folders of them (other files in a folder, such as manifest.json, "
                    "batch.log and *.tmp.* temporaries, are ignored).",
        epilog="exit codes: 0 ok, 1 internal error, 2 usage error, 3 bad input, 4 I/O error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("compare", help="EL, VaR and ES with standard errors and the ratio to the baseline")
    c.add_argument("results", nargs="+", metavar="RESULTS")
    c.add_argument("--baseline", help="scenario the ratios refer to (default: 'baseline' if present, "
                                      "else the first)")
    c.add_argument("--all", action="store_true",
                   help="every estimate with a standard error, not only EL, VaR and ES")
    c.add_argument("--by", action="append", default=[], metavar="GROUP",
                   help="also print EL and the ES contributions by GROUP (region, sector); repeatable")
    c.add_argument("--level", type=_level, default=0.999, help="level of the ES contributions (0.999)")
    c.add_argument("--csv", metavar="FILE", help="also write the table (CNY) as CSV")
    c.set_defaults(run=_cmd_compare)

    q = sub.add_parser("plot", help="loss distribution, exceedance curve, losses by region and "
                                    "sector, contagion's share of ES")
    q.add_argument("results", nargs="+", metavar="RESULTS")
    q.add_argument("--out", required=True, metavar="DIR", help="folder for the figures (created if missing)")
    q.add_argument("--format", choices=("png", "svg", "pdf"), default="png")
    q.add_argument("--level", type=_level, default=0.999, help="level of the ES contributions (0.999)")
    q.add_argument("--baseline", help="scenario drawn first")
    q.set_defaults(run=_cmd_plot)

    i = sub.add_parser("info", help="the runs and every variable the results hold, with units")
    i.add_argument("results", nargs="+", metavar="RESULTS")
    i.set_defaults(run=_cmd_info)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    prog = "cascade_results.py"
    try:
        return args.run(args)
    except (ResultError, UsageError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return EXIT_IO
    except MemoryError:
        print(f"{prog}: out of memory", file=sys.stderr)
        return 5
    except Exception as e:  # a bug: say so, with the message
        print(f"{prog}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):  # `... | head` ends quietly, as other tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
