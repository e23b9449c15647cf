# report.awk - turns the raw result lines of bench/run.sh into Markdown tables.
#
# Input: one line per run, name=value pairs: the runner's own
#   round=R name=WORKLOAD alloc=ALLOCATOR status=ok|fail
# followed, for a run that succeeded, by the line the workload printed
# (time_ns=, rss_peak_kb=, ops=, and the workload's own figures).
#
# Variables (-v): names      workloads in table order, space-separated
#                 allocators allocators in column order
#                 reference  the allocator ratios are taken against
#                 core       the acceptance lines
#                 churn      the acceptance lines whose RSS must not exceed glibc's
#                 models     name=model pairs for the "modelled on" column
#                 time_dat, rss_dat  files to write the ratios to (for the chart)
#
# Every figure is a median over rounds; ratios are ratios of medians.

function median(key,    n, i, j, v, tmp) {
    n = count[key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) tmp[i] = values[key, i]
    for (i = 2; i <= n; i++) {          # insertion sort: n is a few rounds
        v = tmp[i]
        for (j = i - 1; j >= 1 && tmp[j] > v; j--) tmp[j + 1] = tmp[j]
        tmp[j + 1] = v
    }
    if (n % 2) return tmp[(n + 1) / 2]
    return (tmp[n / 2] + tmp[n / 2 + 1]) / 2
}

function spread(key,    n, i, lo, hi, m) {
    n = count[key]
    if (n < 2) return ""
    lo = hi = values[key, 1]
    for (i = 2; i <= n; i++) {
        if (values[key, i] < lo) lo = values[key, i]
        if (values[key, i] > hi) hi = values[key, i]
    }
    m = median(key)
    return m > 0 ? (hi - lo) / m : ""
}

# Three significant figures, no exponent.
function fmt(v) {
    if (v == "") return "-"
    if (v >= 100 || v == int(v)) return sprintf("%.0f", v)
    if (v >= 10) return sprintf("%.1f", v)
    if (v >= 1) return sprintf("%.2f", v)
    return sprintf("%.3g", v)
}

function ratio_text(r) {
    return r == "" ? "" : sprintf(" (%.2f)", r)
}

function cell(w, a, metric, scale,    m, r, ref, text) {
    m = median(w SUBSEP a SUBSEP metric)
    if (m == "") return failures[w, a] ? "fail" : "-"
    text = fmt(m / scale)
    ref = median(w SUBSEP reference SUBSEP metric)
    if (a != reference && ref != "" && ref > 0) text = text ratio_text(m / ref)
    if (failures[w, a]) text = text " [" failures[w, a] " failed]"
    return text
}

function table(title, metric, scale, unit, dat,    i, k, w, a, m, ref, r, line, header, rule, sum, n, max_spread, s) {
    print "### " title
    print ""
    header = "| workload | modelled on |"
    rule = "|---|---|"
    for (k = 1; k <= nalloc; k++) {
        header = header " " alloc_list[k] " |"
        rule = rule "---:|"
    }
    print header " spread |"
    print rule "---:|"
    for (k = 1; k <= nalloc; k++) { sum[k] = 0; n[k] = 0 }
    for (i = 1; i <= nnames; i++) {
        w = name_list[i]
        if (!(w in seen)) continue
        line = "| " w " | " (w in model ? model[w] : "-") " |"
        if (dat != "") printf "%s", w > dat
        max_spread = ""
        for (k = 1; k <= nalloc; k++) {
            a = alloc_list[k]
            line = line " " cell(w, a, metric, scale) " |"
            m = median(w SUBSEP a SUBSEP metric)
            ref = median(w SUBSEP reference SUBSEP metric)
            r = (m != "" && ref != "" && ref > 0 && m > 0) ? m / ref : ""
            if (r != "") { sum[k] += log(r); n[k]++ }
            if (dat != "" && a != reference) printf " %s", (r == "" ? "-" : sprintf("%.4f", r)) > dat
            s = spread(w SUBSEP a SUBSEP metric)
            if (s != "" && (max_spread == "" || s > max_spread)) max_spread = s
        }
        if (dat != "") printf "\n" > dat
        print line " " (max_spread == "" ? "-" : sprintf("%.0f%%", 100 * max_spread)) " |"
    }
    line = "| **geometric mean of ratios** | |"
    for (k = 1; k <= nalloc; k++)
        line = line " " (n[k] ? sprintf("**%.2f**", exp(sum[k] / n[k])) : "-") " |"
    print line " |"
    print ""
    print "Cells: median " unit "; in brackets the ratio to " reference "'s median (above 1: more than " reference "). Spread: the largest (max - min) / median of any allocator on that line, a measure of the noise."
    print ""
    if (dat != "") close(dat)
}

# Median over rounds of ward's time divided by `peer`'s in the same round:
# runs of one round are seconds apart, so this cancels slow changes in the
# machine's load that a ratio of medians can still carry.
function paired_ratio(w, peer,    r, n, id) {
    n = 0
    id = "paired" SUBSEP w SUBSEP peer
    for (r = 1; r <= max_round; r++)
        if ((w, "ward", r) in round_time && (w, peer, r) in round_time && round_time[w, peer, r] > 0) {
            values[id, ++n] = round_time[w, "ward", r] / round_time[w, peer, r]
        }
    count[id] = n
    return n ? median(id) : ""
}

function acceptance(    i, w, a, k, m, best, best_alloc, ward_t, ward_rss, glibc_rss, tr, pr, rr, line, is_churn, ok_t, ok_r) {
    print "### Core lines: acceptance figures"
    print ""
    if (!has_alloc["ward"]) {
        print "ward is not in this run, so there are no acceptance figures; the fastest peer per line is listed for reference."
        print ""
    }
    print "| line | ward ms | fastest peer | its ms | ward / fastest | same-round ratio | within 1.2x | ward peak MiB | glibc peak MiB | ward / glibc | RSS no higher than glibc |"
    print "|---|---:|---|---:|---:|---:|:---:|---:|---:|---:|:---:|"
    for (i = 1; i <= nnames; i++) {
        w = name_list[i]
        if (!(w in core_set) || !(w in seen)) continue
        best = ""; best_alloc = "-"
        for (k = 1; k <= nalloc; k++) {
            a = alloc_list[k]
            if (a == "ward") continue
            m = median(w SUBSEP a SUBSEP "time_ns")
            if (m != "" && (best == "" || m < best)) { best = m; best_alloc = a }
        }
        ward_t = median(w SUBSEP "ward" SUBSEP "time_ns")
        ward_rss = median(w SUBSEP "ward" SUBSEP "rss_peak_kb")
        glibc_rss = median(w SUBSEP "glibc" SUBSEP "rss_peak_kb")
        tr = (ward_t != "" && best != "") ? ward_t / best : ""
        pr = (ward_t != "" && best != "") ? paired_ratio(w, best_alloc) : ""
        rr = (ward_rss != "" && glibc_rss != "") ? ward_rss / glibc_rss : ""
        is_churn = (w in churn_set)
        ok_t = tr == "" ? "-" : (tr <= 1.2 ? "yes" : "**no**")
        ok_r = !is_churn ? "n/a" : (rr == "" ? "-" : (rr <= 1.0 ? "yes" : "**no**"))
        line = "| " w " | " (ward_t == "" ? (failures[w, "ward"] ? "fail" : "-") : fmt(ward_t / 1e6)) " | " best_alloc " | " fmt(best == "" ? "" : best / 1e6)
        line = line " | " (tr == "" ? "-" : sprintf("%.2f", tr)) " | " (pr == "" ? "-" : sprintf("%.2f", pr)) " | " ok_t
        line = line " | " fmt(ward_rss == "" ? "" : ward_rss / 1024) " | " fmt(glibc_rss == "" ? "" : glibc_rss / 1024)
        line = line " | " (rr == "" ? "-" : sprintf("%.2f", rr)) " | " ok_r " |"
        print line
    }
    print ""
    print "ward / fastest is the ratio of the medians; the same-round ratio is the median over rounds of ward's time over that peer's in the same round (less sensitive to the machine's load drifting between rounds). The verdict uses the ratio of the medians."
    print ""
}

function extras(    i, w, k, j, key, a, line, header, rule, printed, m, label, div) {
    print "### The workloads' own figures"
    print ""
    header = "| workload | figure |"
    rule = "|---|---|"
    for (k = 1; k <= nalloc; k++) { header = header " " alloc_list[k] " |"; rule = rule "---:|" }
    print header
    print rule
    printed = 0
    for (i = 1; i <= nnames; i++) {
        w = name_list[i]
        for (j = 1; j <= nextra[w]; j++) {
            key = extra_key[w, j]
            label = key; div = 1
            if (key ~ /_kb$/) { label = substr(key, 1, length(key) - 3) " (MiB)"; div = 1024 }
            line = "| " w " | " label " |"
            for (k = 1; k <= nalloc; k++) {
                m = median(w SUBSEP alloc_list[k] SUBSEP key)
                line = line " " (m == "" ? "-" : fmt(m / div)) " |"
            }
            print line
            printed = 1
        }
    }
    if (!printed) print "| (none) | | |"
    print ""
}

BEGIN {
    nnames = split(names, name_list, " ")
    nalloc = split(allocators, alloc_list, " ")
    for (k = 1; k <= nalloc; k++) has_alloc[alloc_list[k]] = 1
    split(core, tmp, " "); for (i in tmp) core_set[tmp[i]] = 1
    split(churn, tmp, " "); for (i in tmp) churn_set[tmp[i]] = 1
    split(models, tmp, " ")
    for (i in tmp) { split(tmp[i], pair, "="); model[pair[1]] = pair[2] }
    standard["round"] = standard["name"] = standard["alloc"] = standard["status"] = 1
    standard["workload"] = standard["allocator"] = standard["threads"] = 1
    standard["time_ns"] = standard["ops"] = standard["rss_peak_kb"] = standard["rss_base_kb"] = 1
    standard["rc"] = standard["reason"] = 1
}

{
    delete field
    for (i = 1; i <= NF; i++) {
        eq = index($i, "=")
        if (eq) field[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    w = field["name"]; a = field["alloc"]
    if (w == "" || a == "") next
    if (field["round"] + 0 > max_round) max_round = field["round"] + 0
    seen[w] = 1
    if (field["status"] != "ok") { failures[w, a]++; next }
    for (i = 1; i <= NF; i++) {       # in line order, so extra figures keep the workload's order
        eq = index($i, "=")
        if (!eq) continue
        key = substr($i, 1, eq - 1); value = substr($i, eq + 1)
        if (key == "round" || key == "name" || key == "alloc" || key == "status" || key == "workload" || key == "allocator") continue
        if (value !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) continue
        id = w SUBSEP a SUBSEP key
        values[id, ++count[id]] = value + 0
        if (key == "time_ns") round_time[w, a, field["round"]] = value + 0
        if (key ~ /^check_/) {          # must agree across allocators and rounds
            if (!((w, key) in check_value)) { check_value[w, key] = value; check_from[w, key] = a }
            else if (check_value[w, key] != value && !((w, key, a) in check_reported)) {
                check_reported[w, key, a] = 1
                mismatch[++nmismatch] = w ": " key " is " value " under " a " but " check_value[w, key] " under " check_from[w, key]
            }
            continue
        }
        if (!(key in standard) && !((w, key) in extra_seen)) {
            extra_seen[w, key] = 1
            extra_key[w, ++nextra[w]] = key
        }
    }
}

function checks(    i) {
    if (nmismatch == 0) {
        print "Results of the computations (check_ figures) agree under every allocator."
        print ""
        return
    }
    print "**Warning: results differ between allocators** (a workload computed something different, so one allocator corrupted memory or the workload is not deterministic):"
    print ""
    for (i = 1; i <= nmismatch; i++) print "- " mismatch[i]
    print ""
}

END {
    table("Time", "time_ns", 1e6, "milliseconds of the workload's timed section", time_dat)
    table("Peak resident set", "rss_peak_kb", 1024, "MiB of VmHWM (peak resident set of the process since exec)", rss_dat)
    acceptance()
    extras()
    checks()
}
