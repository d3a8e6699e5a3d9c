# The R oracle: survival 3.x on the jobs written by tests/r_oracle.py, results as CSV files.
# Usage: Rscript r_oracle.R DIR    (DIR holds data.csv, jobs.csv, binom.csv; outputs go there)
# data.csv   job, time, event (0/1), group, stratum     one row per subject of each job
# jobs.csv   job, levels ("a|b|c", first = reference), landmarks ("3|6|12" or "")
# binom.csv  id, x, n
suppressPackageStartupMessages(library(survival))
dir <- commandArgs(trailingOnly = TRUE)[1]
data <- read.csv(file.path(dir, "data.csv"), stringsAsFactors = FALSE,
                 colClasses = c(job = "character", group = "character", stratum = "character"))
jobs <- read.csv(file.path(dir, "jobs.csv"), stringsAsFactors = FALSE,
                 colClasses = "character")
out <- list(km = list(), median = list(), landmark = list(), logrank = list(), oe = list(),
            cox = list())
add <- function(name, frame) out[[name]][[length(out[[name]]) + 1]] <<- frame
split_levels <- function(text) if (is.na(text) || text == "") character(0) else
  strsplit(text, "|", fixed = TRUE)[[1]]

for (j in seq_len(nrow(jobs))) {
  job <- jobs$job[j]
  d <- data[data$job == job, ]
  levels <- split_levels(jobs$levels[j])
  d$group <- factor(d$group, levels = levels)
  marks <- as.numeric(split_levels(jobs$landmarks[j]))
  for (g in levels) {
    dg <- d[d$group == g, ]
    if (sum(!is.na(dg$time)) == 0) next
    for (ct in c("log", "log-log", "plain")) {
      fit <- survfit(Surv(time, event) ~ 1, data = dg, conf.type = ct)
      s <- summary(fit, censored = TRUE)
      add("km", data.frame(job = job, group = g, conf_type = ct, time = s$time,
                           n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
                           surv = s$surv, std_err = s$std.err, lower = s$lower,
                           upper = s$upper))
      tab <- summary(fit)$table          # what print(survfit) shows
      add("median", data.frame(job = job, group = g, conf_type = ct, n = tab[["n.start"]],
                               events = tab[["events"]], median = tab[["median"]],
                               lcl = tab[["0.95LCL"]], ucl = tab[["0.95UCL"]],
                               q_median = quantile(fit, 0.5)$quantile[[1]]))
      if (length(marks) > 0) {
        ls <- summary(fit, times = marks, extend = TRUE)
        add("landmark", data.frame(job = job, group = g, conf_type = ct, time = ls$time,
                                   n_risk = ls$n.risk, surv = ls$surv, lower = ls$lower,
                                   upper = ls$upper))
      }
    }
  }
  present <- levels[levels %in% unique(as.character(d$group[!is.na(d$time)]))]
  if (length(present) < 2 || sum(d$event[!is.na(d$time)]) == 0) next
  d$group <- factor(as.character(d$group), levels = present)
  for (stratified in c(FALSE, TRUE)) {
    f <- if (stratified) Surv(time, event) ~ group + strata(stratum) else
      Surv(time, event) ~ group
    sd <- survdiff(f, data = d)
    add("logrank", data.frame(job = job, stratified = stratified, chisq = sd$chisq,
                              df = length(sd$n) - 1,
                              p = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)))
    obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
    exp <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
    add("oe", data.frame(job = job, stratified = stratified, group = present,
                         n = as.vector(sd$n), observed = obs, expected = exp))
  }
  cox <- suppressWarnings(coxph(Surv(time, event) ~ group + strata(stratum), data = d,
                                ties = "efron",
                                control = coxph.control(eps = 1e-12, iter.max = 100)))
  cs <- summary(cox)$coefficients
  ci <- summary(cox)$conf.int
  add("cox", data.frame(job = job, group = sub("^group", "", rownames(cs)),
                        reference = present[1], coef = cs[, "coef"], hr = cs[, "exp(coef)"],
                        se = cs[, "se(coef)"], lower = ci[, "lower .95"],
                        upper = ci[, "upper .95"], p = cs[, "Pr(>|z|)"]))
}
for (name in names(out)) {
  frame <- if (length(out[[name]])) do.call(rbind, out[[name]]) else data.frame(job = character(0))
  write.csv(frame, file.path(dir, paste0(name, ".csv")), row.names = FALSE)
}
b <- read.csv(file.path(dir, "binom.csv"))
rows <- lapply(seq_len(nrow(b)), function(i) {
  bt <- binom.test(b$x[i], b$n[i])
  data.frame(id = b$id[i], x = b$x[i], n = b$n[i], lower = bt$conf.int[1],
             upper = bt$conf.int[2], p = bt$p.value)
})
write.csv(if (length(rows)) do.call(rbind, rows) else data.frame(id = character(0)),
          file.path(dir, "binom_out.csv"), row.names = FALSE)
cat(R.version.string, "; survival ", as.character(packageVersion("survival")), "\n",
    sep = "", file = file.path(dir, "version.txt"))
