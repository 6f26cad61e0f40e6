package chart

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps Helm's loader from logging, at level info, each link of
// charts/gpuplane/files (to deploy/) every time the chart is loaded; warnings
// still show.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}
