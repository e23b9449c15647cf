# ratios.gp - bar chart of each peer's median against the reference
# allocator's, one group of bars per workload, log scale (a bar at 2 means
# twice the reference's time or memory, at 0.5 half of it).
#
# Called by run.sh with: data (the .dat file: a workload name, then one
# ratio per peer, "-" when missing), output (file name without extension),
# peers (their names, space-separated), reference, metric ("time" or "rss").
# Writes output.svg, and output.png when the cairo PNG terminal exists.

what = (metric eq "time") ? "time" : "peak RSS"
set title sprintf("%s of each allocator relative to %s (median of rounds; below 1 = less than %s)", \
                  what, reference, reference)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set logscale y 2
set yrange [0.0625:64]
set ytics ("1/16" 0.0625, "1/8" 0.125, "1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16, "32" 32, "64" 64)
set grid ytics lc rgb "#dddddd"
set ylabel sprintf("peer / %s", reference)
set xtics rotate by -35 nomirror
set key top left horizontal reverse Left
set datafile missing "-"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 1.5 lc rgb "#000000"

set terminal svg size 1280,560 dynamic background rgb "white" font "sans,11"
set output output . ".svg"
plot for [i = 2:words(peers) + 1] data using i:xtic(1) title word(peers, i - 1)

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1280,560 background rgb "white" font "sans,10"
    set output output . ".png"
    replot
}
