#!/usr/bin/python3
"""Print the summary of one or more cascade result files with xarray.

    /usr/bin/python3 analysis/summary.py results/*.h5

A starting point for notebooks and scripts: it shows the file's named
dimensions (path, segment, level, factor) and where the headline numbers are.
"""
import sys

import xarray as xr


def summarise(path):
    ds = xr.open_dataset(path, engine="h5netcdf")
    try:
        print(f"{ds.attrs['scenario_name']}: {int(ds.attrs['loans'])} loans, "
              f"{int(ds.attrs['paths'])} paths, seed {int(ds.attrs['seed'])}, "
              f"cascade {ds.attrs['cascade_version']} ({ds.attrs['cascade_commit']})")
        mn = 1e6
        print(f"  EL        {float(ds.el) / mn:12.2f} CNY mn (s.e. {float(ds.el_se) / mn:.2f})")
        for level in ds.level.values:
            v = ds.sel(level=level)
            print(f"  VaR {level:6.1%} {float(v['var']) / mn:12.2f} (s.e. {float(v.var_se) / mn:.2f})"
                  f"   ES {float(v.es) / mn:12.2f} (s.e. {float(v.es_se) / mn:.2f})")
        contrib = ds.es_contribution.sel(level=0.999)
        by_sector = contrib.groupby(ds.segment_sector).sum().to_pandas().sort_values(ascending=False)
        print("  ES 99.9% by sector [CNY mn]:")
        for sector, value in by_sector.items():
            print(f"    {sector:18s} {value / mn:12.2f}")
    finally:
        ds.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: analysis/summary.py RESULT.h5...")
    for p in sys.argv[1:]:
        summarise(p)
