"""The UPT-Flow paper's reported numbers, typed in from its tables, for display beside ours.

Source of every table: Xu et al., "UPT-Flow: Multi-scale transformer-guided normalizing flow for low-light
image enhancement", Pattern Recognition 158:111076 (2025), as transcribed in
``../shared/spec/uptflow-architecture.md`` section 6 (cells are kept exactly as printed, "PSNR/SSIM/LPIPS").
The paper reports NO downstream detection or segmentation numbers (spec 6.6), so there are none here.
Only methods whose rows we may show beside ours are used by the report; the rest document the source.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["TABLE1", "TABLE2", "TABLE3", "PAPER_TABLES", "TEST_SIZES", "paper_frame"]

# Published Table 1 (paper figure table1; spec 6.3): PSNR / SSIM / LPIPS, no GT-mean. UPT-Flow's row follows its
# test.py (skimage SSIM 7x7 uniform); some other rows equal their own papers' numbers (Retinexformer, SNRNet), whose
# SSIM conventions differ, so the conventions behind the other methods' rows are not established.
# LLFlow's MIT-Adobe FiveK LPIPS "0.450*" is printed as-is in the paper (almost certainly a typo).
TABLE1_COLUMNS = ("LOLv2-real", "LOLv2-synthetic", "MIT-Adobe FiveK", "SMID")
TABLE1 = (
    ('RUAS', '15.326/0.493/0.310', '13.765/0.634/0.305', '17.858/0.813/0.146', '18.678/0.639/0.385'),
    ('SCI', '17.304/0.540/0.308', '15.428/0.744/0.233', '20.725/0.845/0.107', '19.742/0.653/0.359'),
    ('LIME', '17.781/0.499/0.353', '17.193/0.764/0.200', '17.260/0.790/0.112', '15.121/0.571/0.464'),
    ('ZERO-IG', '18.602/0.751/0.388', '17.124/0.769/0.215', '16.495/0.714/0.289', '16.218/0.625/0.475'),
    ('ZeroDCE++', '18.433/0.587/0.306', '17.686/0.815/0.186', '15.361/0.705/0.225', '17.059/0.612/0.405'),
    ('PairLIE', '19.885/0.773/0.234', '19.074/0.794/0.230', '13.271/0.691/0.215', '13.357/0.532/0.507'),
    ('Uformer', '17.074/0.805/0.172', '23.473/0.916/0.077', '22.266/0.852/0.073', '26.236/0.785/0.199'),
    ('LLFlow', '19.670/0.852/0.157', '22.376/0.910/0.066', '24.695/0.925/0.450*', '28.117/0.813/0.181'),
    ('MBPNet', '19.948/0.837/0.144', '24.546/0.918/0.066', '25.318/0.923/0.043', '29.632/0.771/0.177'),
    ('LLFormer', '20.990/0.811/0.219', '23.741/0.902/0.086', '25.295/0.922/0.049', '27.917/0.785/0.183'),
    ('MIRNet', '21.180/0.840/0.145', '25.083/0.920/0.070', '24.022/0.901/0.059', '28.617/0.810/0.180'),
    ('MIRNet-v2', '21.372/0.833/0.153', '24.292/0.923/0.064', '24.593/0.900/0.062', '28.488/0.804/0.174'),
    ('SNRNet', '21.479/0.849/0.157', '24.139/0.928/0.056', '24.902/0.901/0.101', '28.493/0.805/0.178'),
    ('Restormer', '21.540/0.841/0.154', '25.476/0.934/0.051', '25.236/0.888/0.055', '28.181/0.800/0.173'),
    ('HWMNet', '21.713/0.846/0.157', '25.012/0.927/0.056', '24.441/0.914/0.044', '28.971/0.817/0.172'),
    ('Retinexformer', '22.794/0.839/0.171', '25.670/0.928/0.059', '24.556/0.883/0.069', '28.990/0.811/0.167'),
    ('SMGNet', '24.032/0.820/0.169', '24.980/0.894/0.092', '25.227/0.854/0.047', '26.971/0.725/0.212'),
    ('UPT-Flow', '25.056/0.890/0.115', '26.481/0.946/0.037', '25.667/0.928/0.041', '29.529/0.822/0.167'),
)

# Published Table 2 (paper figure table2; spec 6.4): SDSD, PSNR / SSIM / LPIPS (outdoor header misprinted
# as "SSIM, PSNR, LPIPS"; the values are in PSNR, SSIM, LPIPS order).
TABLE2_COLUMNS = ("SDSD-indoor", "SDSD-outdoor")
TABLE2 = (
    ('RUAS', '16.266/0.651/0.345', '20.847/0.689/0.234'),
    ('SCI', '21.194/0.723/0.328', '18.095/0.538/0.296'),
    ('LIME', '20.435/0.569/0.410', '12.808/0.381/0.398'),
    ('ZERO-IG', '24.196/0.815/0.255', '10.334/0.423/0.533'),
    ('ZeroDCE++', '20.530/0.671/0.360', '16.074/0.484/0.352'),
    ('PairLIE', '19.460/0.689/0.284', '12.368/0.434/0.368'),
    ('Uformer', '25.471/0.876/0.130', '26.771/0.841/0.160'),
    ('LLFlow', '25.459/0.896/0.139', '28.823/0.869/0.188'),
    ('MBPNet', '28.822/0.882/0.126', '22.872/0.754/0.186'),
    ('LLFormer', '29.650/0.874/0.152', '28.734/0.838/0.129'),
    ('MIRNet', '27.832/0.882/0.138', '29.167/0.871/0.152'),
    ('MIRNet-v2', '28.738/0.890/0.122', '30.067/0.866/0.152'),
    ('SNRNet', '29.440/0.894/0.129', '28.660/0.866/0.140'),
    ('Restormer', '30.026/0.901/0.114', '27.987/0.863/0.166'),
    ('HWMNet', '29.817/0.905/0.119', '27.937/0.870/0.158'),
    ('Retinexformer', '29.749/0.892/0.118', '29.833/0.875/0.178'),
    ('SMGNet', '26.889/0.802/0.166', '26.329/0.809/0.176'),
    ('UPT-Flow', '31.197/0.912/0.110', '30.214/0.887/0.174'),
)

# Preprint Table 3 (paper figure table3; spec 6.5): night traffic monitoring (NTM), no-reference,
# LOE / NIQE / BRISQUE, all lower-is-better. The published version may have changed this table.
TABLE3_COLUMNS = ("NTM part 1", "NTM part 2")
TABLE3 = (
    ('RetinexNet', '669.22/8.07/41.58', '971.10/6.84/36.53'),
    ('LIME', '623.11/6.68/42.22', '445.46/5.39/32.88'),
    ('SMGNet', '409.05/5.14/47.53', '310.19/5.01/44.87'),
    ('LLFormer', '406.24/4.70/42.41', '299.19/4.49/39.46'),
    ('MIRNet', '370.45/7.24/51.84', '283.08/7.47/52.61'),
    ('SNRNet', '328.30/4.97/40.21', '194.14/4.82/31.11'),
    ('ZeroDCE', '322.99/5.23/41.25', '317.34/4.65/38.36'),
    ('KinD++', '289.27/6.08/40.25', '1093.75/5.80/36.75'),
    ('HWMNet', '284.49/4.47/39.22', '182.03/4.51/29.26'),
    ('ZeroDCE++', '234.83/6.20/41.71', '278.42/5.13/34.12'),
    ('MBPNet', '231.38/5.31/39.79', '197.78/4.73/29.57'),
    ('PairLIE', '213.76/5.03/39.38', '237.80/5.03/36.01'),
    ('SRIE', '194.34/5.73/39.41', '208.82/4.80/29.22'),
    ('RUAS', '188.52/5.86/36.52', '105.54/5.23/34.57'),
    ('UPT-Flow', '165.75/5.38/35.88', '94.46/4.47/28.55'),
)

PAPER_TABLES = {
    "table1": (TABLE1_COLUMNS, ("PSNR", "SSIM", "LPIPS"), TABLE1),
    "table2": (TABLE2_COLUMNS, ("PSNR", "SSIM", "LPIPS"), TABLE2),
    "table3": (TABLE3_COLUMNS, ("LOE", "NIQE", "BRISQUE"), TABLE3),
}

# Images in the paper's test set of a column (spec 6.2), so a table can tell the full split from a cut or incomplete
# one; the spec gives no count for the other columns (NTM parts: frames sampled from unpublished videos).
TEST_SIZES = {"LOLv2-real": 100, "LOLv2-synthetic": 100}


def paper_frame() -> pd.DataFrame:
    """All reported numbers in long format: columns table, method, dataset, metric, value, note."""
    records = []
    for table, (columns, metrics, rows) in PAPER_TABLES.items():
        for method, *cells in rows:
            for dataset, cell in zip(columns, cells, strict=True):
                for metric, text in zip(metrics, cell.split("/"), strict=True):
                    note = "printed with * (likely typo)" if text.endswith("*") else ""
                    records.append(dict(table=table, method=method, dataset=dataset, metric=metric,
                                        value=float(text.rstrip("*")), note=note))
    return pd.DataFrame.from_records(records)
