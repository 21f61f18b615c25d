package store

// SetReportSplitMin lets tests split small reports over several readers.
func SetReportSplitMin(n int64) (restore func()) {
	old := reportSplitMin
	reportSplitMin = n
	return func() { reportSplitMin = old }
}
