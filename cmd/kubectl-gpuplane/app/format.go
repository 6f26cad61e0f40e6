package app

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/pkg/api"
)

// Output formats, as kubectl's -o names them.
const (
	outTable = ""
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
)

// checkOutput refuses an -o value a command does not print; tables lists
// whether it has table forms.
func checkOutput(o string, tables bool) error {
	switch {
	case o == outJSON, o == outYAML, o == outTable, o == outWide && tables:
		return nil
	}
	if tables {
		return fmt.Errorf("unknown output format %q: use -o wide, -o json or -o yaml", o)
	}
	return fmt.Errorf("unknown output format %q: use -o json or -o yaml", o)
}

// writeData prints v as indented JSON or as YAML.
func writeData(w io.Writer, o string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the answer: %w", err)
	}
	if o == outYAML {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return fmt.Errorf("encoding the answer: %w", err)
		}
	} else {
		data = append(data, '\n')
	}
	_, err = w.Write(data)
	return err
}

// table writes rows as kubectl does: columns two spaces apart, "<none>"
// for an empty cell.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			if c == "" {
				c = "<none>"
			}
			cells[i] = c
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// WriteNodes prints the nodes as a table (o "" or "wide"), JSON or YAML.
func WriteNodes(w io.Writer, o string, nodes []NodeView) error {
	if o == outJSON || o == outYAML {
		return writeData(w, o, nodes)
	}
	header := []string{"NODE", "TYPE", "CARDS", "WHOLE-FREE", "SHARE-FREE", "MEMORY-FREE", "CONDITIONS"}
	if o == outWide {
		header = append(header, "MODE", "PODS", "PROBLEMS")
	}
	rows := make([][]string, 0, len(nodes))
	for _, n := range nodes {
		shares := make([]string, len(n.Cards))
		mems := make([]string, len(n.Cards))
		for i, c := range n.Cards {
			shares[i] = formatMilli(c.FreeMilli)
			mems[i] = formatMiB(c.FreeMemMiB)
		}
		share, mem := strings.Join(shares, ","), strings.Join(mems, ",")
		if n.Mode == "whole" {
			// The device plugin hands out whole cards and tells nobody which:
			// there are no shares to show, only WHOLE-FREE.
			share, mem = "-", "-"
		}
		row := []string{n.Name, n.Type, fmt.Sprint(len(n.Cards)), fmt.Sprint(n.WholeFree),
			share, mem, conditionsCell(n.Conditions, o == outWide)}
		if o == outWide {
			row = append(row, n.Mode, fmt.Sprint(n.Pods), strings.Join(n.Problems, "; "))
		}
		rows = append(rows, row)
	}
	return table(w, header, rows)
}

// conditionsCell words the node agent's conditions: "4/4 ready", or how
// many are true and which are not; wide writes each with its reason.
func conditionsCell(cs []ConditionView, wide bool) string {
	ready := 0
	var not []string
	for _, c := range cs {
		short := strings.TrimSuffix(strings.TrimPrefix(c.Type, "GPU"), "Ready")
		if c.Status == "True" {
			ready++
		}
		switch {
		case wide:
			not = append(not, fmt.Sprintf("%s=%s(%s)", short, c.Status, c.Reason))
		case c.Status != "True":
			not = append(not, short+"="+c.Status)
		}
	}
	cell := fmt.Sprintf("%d/%d ready", ready, len(cs))
	if len(not) > 0 {
		cell += " " + strings.Join(not, ",")
	}
	return cell
}

// WritePods prints the pods as a table (o "" or "wide"), JSON or YAML.
func WritePods(w io.Writer, o string, pods []PodView) error {
	if o == outJSON || o == outYAML {
		return writeData(w, o, pods)
	}
	header := []string{"NAMESPACE", "NAME", "REQUEST", "NODE", "CARDS", "STATE"}
	if o == outWide {
		header = append(header, "SCHEDULER", "PROBLEM")
	}
	rows := make([][]string, 0, len(pods))
	for _, p := range pods {
		row := []string{p.Namespace, p.Name, p.Request, p.Node, p.Cards, p.State}
		if o == outWide {
			row = append(row, p.Scheduler, p.Problem)
		}
		rows = append(rows, row)
	}
	return table(w, header, rows)
}

// WriteWhy prints a pod's story as text, JSON or YAML.
func WriteWhy(w io.Writer, o string, v WhyView) error {
	if o == outJSON || o == outYAML {
		return writeData(w, o, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Pod %s/%s, request %s, is %s", v.Namespace, v.Name, quoteOrNone(v.Request), v.State)
	switch {
	case v.Node != "":
		fmt.Fprintf(&b, " on node %s.\n", v.Node)
		if v.Cards != "" {
			fmt.Fprintf(&b, "Cards: %s\n", v.Cards)
		}
		if v.Assignment != nil {
			for _, c := range v.Assignment.Containers {
				for _, s := range c.Cards {
					fmt.Fprintf(&b, "  container %s: card %d, %d%% of its cores, %s\n", c.Name, s.Index, s.Cores*100/api.CoresPerCard, formatMiB(s.MemoryMiB))
				}
			}
		}
		if v.Bound != "" {
			fmt.Fprintf(&b, "Scheduled: %s\n", v.Bound)
		}
	case v.Pending == nil:
		b.WriteString("; the scheduler has not reported on it yet.\n")
	default:
		d := v.Pending
		if d.Nodes >= 0 {
			fmt.Fprintf(&b, ": no node of %d fits it", d.Nodes)
		}
		times := fmt.Sprintf("%d times", d.Count)
		if d.Count == 1 {
			times = "once"
		}
		fmt.Fprintf(&b, " (FailedScheduling, reported %s).\n", times)
		tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  NODES\tREASON")
		for _, g := range d.Groups {
			nodes := fmt.Sprint(g.NodeCount)
			if len(g.Nodes) > 0 {
				nodes = strings.Join(g.Nodes, ",")
			}
			fmt.Fprintf(tw, "  %s\t%s\n", nodes, g.Reason)
		}
		tw.Flush()
		if d.Preemption != "" {
			fmt.Fprintf(&b, "Preemption: %s\n", d.Preemption)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteOrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return fmt.Sprintf("%q", s)
}
