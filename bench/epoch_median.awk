# bench/epoch_median.awk — from a dg-train --log CSV, the median of the
# images_per_s column over epochs 2 and later (the first pays for loading
# and compiling), and the last epoch: prints "MEDIAN LAST", or fails when
# the log has no such column or no second epoch.
BEGIN { FS = "," }
NR == 1 { for (i = 1; i <= NF; i++) if ($i == "images_per_s") c = i; next }
NR > 2 { r[n++] = $c }
END {
	if (!c || n < 1)
		exit 1
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
	print r[int(n / 2)], n + 1
}
