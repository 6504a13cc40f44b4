using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ScottPlot;

namespace Flora.Reports;

/// <summary>
/// The two PNG plots of a comparison (ScottPlot 5): test accuracy against trainable parameters (log x axis, one
/// marker per method with ± std error bars, labelled) and test accuracy per epoch (mean over seeds, one line per
/// method). Colour follows the method kind, marker shape and line pattern the budget. Files are written atomically.
/// </summary>
public static class Plots
{
    /// <summary>Default width in pixels.</summary>
    public const int DefaultWidth = 800;

    /// <summary>Default height in pixels.</summary>
    public const int DefaultHeight = 500;

    /// <summary>File name of the accuracy-vs-parameters plot.</summary>
    public const string AccuracyVsParametersFileName = "accuracy_vs_parameters.png";

    /// <summary>File name of the accuracy-per-epoch plot.</summary>
    public const string AccuracyPerEpochFileName = "accuracy_per_epoch.png";

    private const float LabelFontSize = 12f;

    /// <summary>A sans-serif family that is installed (ScottPlot's own default can resolve to a serif one on Linux).</summary>
    private static readonly Lazy<string> SansFont = new(() =>
    {
        foreach (string name in new[] { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans", "Open Sans", "Segoe UI" })
        {
            using SkiaSharp.SKTypeface? typeface = SkiaSharp.SKTypeface.FromFamilyName(name);
            if (typeface is not null && string.Equals(typeface.FamilyName, name, StringComparison.OrdinalIgnoreCase))
            {
                return name;
            }
        }
        return Fonts.Default;
    });

    /// <summary>Writes both plots into <paramref name="directory"/> and returns links for results.md (relative to that folder).</summary>
    public static IReadOnlyList<PlotLink> WriteAll(Summary summary, string directory, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(directory);
        WriteAccuracyVsParameters(summary, Path.Combine(directory, AccuracyVsParametersFileName), width, height);
        // One legend entry per method beside the plot: a sweep's twenty methods need more height than the default gives.
        WriteAccuracyPerEpoch(summary, Path.Combine(directory, AccuracyPerEpochFileName), width, Math.Max(height, LegendHeight(summary.Methods.Count)));
        return
        [
            new PlotLink("Test accuracy vs trainable parameters", AccuracyVsParametersFileName),
            new PlotLink("Test accuracy per epoch", AccuracyPerEpochFileName),
        ];
    }

    /// <summary>Writes the accuracy-vs-trainable-parameters PNG.</summary>
    public static void WriteAccuracyVsParameters(Summary summary, string path, int width = DefaultWidth, int height = DefaultHeight)
        => AtomicFile.WriteAllBytes(path, RenderAccuracyVsParameters(summary, width, height));

    /// <summary>Writes the accuracy-per-epoch PNG.</summary>
    public static void WriteAccuracyPerEpoch(Summary summary, string path, int width = DefaultWidth, int height = DefaultHeight)
        => AtomicFile.WriteAllBytes(path, RenderAccuracyPerEpoch(summary, width, height));

    /// <summary>The accuracy-vs-trainable-parameters plot as PNG bytes.</summary>
    public static byte[] RenderAccuracyVsParameters(Summary summary, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(summary);
        CheckSize(width, height);
        var plot = new Plot();
        Style(plot, $"Test accuracy vs trainable parameters (mean ± std over {SeedsText(summary)})", "Trainable parameters (log scale)", "Test accuracy (%)");
        List<MethodSummary> methods = summary.Methods.Where(m => m.Runs > 0 && double.IsFinite(m.MeanAccuracy)).ToList();
        if (methods.Count == 0)
        {
            return Empty(plot, width, height);
        }

        List<string?> budgets = BudgetOrder(summary);
        if (budgets.Count >= SweepBudgets)
        {
            return RenderSweep(plot, methods, width, height);
        }
        var points = new List<(MethodSummary Method, double X, double Y, double Error, Color Color)>();
        foreach (MethodSummary m in methods)
        {
            double x = Math.Log10(Math.Max(1, m.TrainableParameters));
            double y = 100.0 * m.MeanAccuracy;
            double error = double.IsFinite(m.StdAccuracy) ? 100.0 * m.StdAccuracy : 0.0;
            Color color = KindColor(m.Kind, methods.IndexOf(m));
            points.Add((m, x, y, error, color));
            if (error > 0)
            {
                var bar = plot.Add.ErrorBar([x], [y], [error]);
                bar.Color = color;
                bar.LineWidth = 1.5f;
                bar.CapSize = 8;
            }
            // Matched budgets put LoRA, DoRA and FLoRA almost on top of each other: see-through markers keep all visible.
            var marker = plot.Add.Marker(x, y, OpenShape(BudgetShape(budgets, m.Budget)), 13, color);
            marker.MarkerLineWidth = 2.5f;
            marker.LegendText = m.Method;
        }

        double xMin = points.Min(p => p.X);
        double xMax = points.Max(p => p.X);
        double xSpan = Math.Max(xMax - xMin, 0.6);
        double xLow = xMin - 0.15 * xSpan;
        double xHigh = xMax + 0.15 * xSpan;
        double yMin = points.Min(p => p.Y - p.Error);
        double yMax = points.Max(p => p.Y + p.Error);
        double ySpan = Math.Max(yMax - yMin, 0.5);
        plot.Axes.SetLimits(xLow, xHigh, yMin - 0.12 * ySpan, yMax + 0.12 * ySpan);
        plot.Axes.Bottom.TickGenerator = LogTicks(xLow, xHigh);

        // Lay out once to learn where the points land in pixels, then place the legend and the labels clear of them.
        plot.ShowLegend(Alignment.LowerRight);
        plot.Legend.FontSize = LabelFontSize;
        using (plot.GetImage(width, height))
        {
        }
        PixelRect data = plot.LastRender.DataRect;
        var obstacles = new List<PixelRect>();
        foreach (var p in points)
        {
            Pixel center = plot.GetPixel(new Coordinates(p.X, p.Y));
            obstacles.Add(new PixelRect(center.X - 8, center.X + 8, center.Y + 8, center.Y - 8));
            if (p.Error > 0)
            {
                Pixel top = plot.GetPixel(new Coordinates(p.X, p.Y + p.Error));
                Pixel bottom = plot.GetPixel(new Coordinates(p.X, p.Y - p.Error));
                obstacles.Add(new PixelRect(center.X - 6, center.X + 6, bottom.Y, top.Y));
            }
        }

        float legendWidth = 44 + TextWidth(methods.Max(m => m.Method.Length));
        float legendHeight = 12 + methods.Count * (LabelFontSize + 8);
        Alignment legendCorner = BestCorner(data, legendWidth, legendHeight, obstacles);
        plot.Legend.Alignment = legendCorner;
        obstacles.Add(CornerRect(data, legendCorner, legendWidth, legendHeight));

        foreach (var p in points.OrderByDescending(p => p.Y))
        {
            Pixel center = plot.GetPixel(new Coordinates(p.X, p.Y));
            (float dx, float dy, Alignment alignment, PixelRect box) = PlaceLabel(center, p.Method.Method, data, obstacles);
            obstacles.Add(box);
            var text = plot.Add.Text(p.Method.Method, p.X, p.Y);
            text.LabelFontSize = LabelFontSize;
            text.LabelFontName = SansFont.Value;
            text.LabelFontColor = p.Color.Darken(0.25);
            text.Alignment = alignment;
            text.OffsetX = dx;
            text.OffsetY = dy;
            text.LabelBackgroundColor = Colors.White.WithAlpha(0.75);
            text.LabelPadding = 1;
        }
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>The height a right-hand legend of <paramref name="entries"/> entries needs, in pixels.</summary>
    internal static int LegendHeight(int entries) => 90 + 22 * entries;

    /// <summary>From this many budgets on, the accuracy-vs-parameters plot draws one line per method across the budgets.</summary>
    public const int SweepBudgets = 3;

    /// <summary>
    /// A budget sweep's accuracy against trainable parameters: one line per method series across its budgets (the label
    /// without its "(budget …)" part: FLoRA, LoRA, DoRA, a FLoRA scale variant), mean ± std error bars, and the methods
    /// without a budget (full fine-tuning, BitFit) as single points; a legend instead of per-point labels.
    /// </summary>
    private static byte[] RenderSweep(Plot plot, List<MethodSummary> methods, int width, int height)
    {
        var all = new List<(double X, double Y, double Error)>();
        int index = 0;
        foreach (var series in methods.GroupBy(Series, StringComparer.Ordinal))
        {
            var points = series.OrderBy(m => m.TrainableParameters)
                .Select(m => (X: Math.Log10(Math.Max(1, m.TrainableParameters)), Y: 100.0 * m.MeanAccuracy, Error: double.IsFinite(m.StdAccuracy) ? 100.0 * m.StdAccuracy : 0.0))
                .ToArray();
            all.AddRange(points);
            MethodSummary first = series.First();
            Color color = KindColor(first.Kind, index);
            bool variant = first.Kind == MethodKind.Flora && !string.Equals(series.Key, "FLoRA", StringComparison.Ordinal);
            if (variant) color = new ScottPlot.Palettes.Category10().GetColor(index + 4);
            var bars = plot.Add.ErrorBar(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), points.Select(p => p.Error).ToArray());
            bars.Color = color;
            bars.LineWidth = 1.5f;
            bars.CapSize = 6;
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), color);
            line.LegendText = series.Key;
            line.LineWidth = points.Length > 1 ? 2 : 0;
            line.LinePattern = variant ? LinePattern.Dashed : LinePattern.Solid;
            line.MarkerShape = first.Budget is null ? MarkerShape.FilledSquare : MarkerShape.FilledCircle;
            line.MarkerSize = 8;
            index++;
        }
        double xLow = all.Min(p => p.X), xHigh = all.Max(p => p.X), xSpan = Math.Max(xHigh - xLow, 0.6);
        double yLow = all.Min(p => p.Y - p.Error), yHigh = all.Max(p => p.Y + p.Error), ySpan = Math.Max(yHigh - yLow, 0.5);
        plot.Axes.SetLimits(xLow - 0.08 * xSpan, xHigh + 0.08 * xSpan, yLow - 0.08 * ySpan, yHigh + 0.08 * ySpan);
        plot.Axes.Bottom.TickGenerator = LogTicks(xLow - 0.08 * xSpan, xHigh + 0.08 * xSpan);
        plot.ShowLegend(Alignment.LowerRight);
        plot.Legend.FontSize = LabelFontSize;
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>A method's series in a sweep: its label without the " (budget …)" part, e.g. "FLoRA s=0.4".</summary>
    internal static string Series(MethodSummary method)
    {
        ArgumentNullException.ThrowIfNull(method);
        string suffix = $" (budget {method.Budget})";
        return method.Budget is not null && method.Method.EndsWith(suffix, StringComparison.Ordinal) ? method.Method[..^suffix.Length] : method.Method;
    }

    /// <summary>The accuracy-per-epoch plot as PNG bytes.</summary>
    public static byte[] RenderAccuracyPerEpoch(Summary summary, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(summary);
        CheckSize(width, height);
        var plot = new Plot();
        Style(plot, $"Test accuracy per epoch (mean over {SeedsText(summary)})", "Epoch", "Test accuracy (%)");
        List<MethodSummary> methods = summary.Methods.Where(m => m.MeanEpochAccuracy.Count > 0).ToList();
        if (methods.Count == 0)
        {
            return Empty(plot, width, height);
        }

        List<string?> budgets = BudgetOrder(summary);
        int epochs = methods.Max(m => m.MeanEpochAccuracy.Count);
        foreach (MethodSummary m in methods)
        {
            double[] xs = Enumerable.Range(1, m.MeanEpochAccuracy.Count).Select(e => (double)e).ToArray();
            double[] ys = m.MeanEpochAccuracy.Select(a => 100.0 * a).ToArray();
            var line = plot.Add.Scatter(xs, ys, KindColor(m.Kind, methods.IndexOf(m)));
            line.LegendText = m.Method;
            line.LineWidth = 2;
            line.LinePattern = BudgetPattern(budgets, m.Budget);
            line.MarkerShape = BudgetShape(budgets, m.Budget);
            line.MarkerSize = 7;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.AutoScale();
        double[] all = methods.SelectMany(m => m.MeanEpochAccuracy).Select(a => 100.0 * a).ToArray();
        double ySpan = Math.Max(all.Max() - all.Min(), 0.5);
        plot.Axes.SetLimits(0.7, epochs + 0.3, all.Min() - 0.06 * ySpan, all.Max() + 0.06 * ySpan);
        plot.ShowLegend(Edge.Right);
        plot.Legend.FontSize = LabelFontSize;
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static void CheckSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);
    }

    private static void Style(Plot plot, string title, string xLabel, string yLabel)
    {
        plot.Title(title, 16);
        plot.XLabel(xLabel, 14);
        plot.YLabel(yLabel, 14);
        foreach (LabelStyle label in new[] { plot.Axes.Title.Label, plot.Axes.Bottom.Label, plot.Axes.Left.Label, plot.Axes.Bottom.TickLabelStyle, plot.Axes.Left.TickLabelStyle })
        {
            label.FontName = SansFont.Value;
        }
        plot.Axes.Bottom.TickLabelStyle.FontSize = 12;
        plot.Axes.Left.TickLabelStyle.FontSize = 12;
        plot.Legend.FontName = SansFont.Value;
    }

    private static byte[] Empty(Plot plot, int width, int height)
    {
        plot.Add.Annotation("no runs to plot", Alignment.MiddleCenter);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static string SeedsText(Summary summary)
    {
        int min = summary.Methods.Count == 0 ? 0 : summary.Methods.Min(m => m.Runs);
        int max = summary.MaxRuns;
        string count = min == max ? max.ToString(CultureInfo.InvariantCulture) : $"{min.ToString(CultureInfo.InvariantCulture)}–{max.ToString(CultureInfo.InvariantCulture)}";
        return max == 1 && min == 1 ? "1 seed" : count + " seeds";
    }

    private static List<string?> BudgetOrder(Summary summary) =>
        summary.Methods.Select(m => m.Budget).Where(b => b is not null).Distinct(StringComparer.Ordinal).ToList();

    private static MarkerShape BudgetShape(List<string?> budgets, string? budget)
    {
        MarkerShape[] shapes = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.FilledTriangleDown];
        return budget is null ? MarkerShape.FilledCircle : shapes[budgets.IndexOf(budget) % shapes.Length];
    }

    private static MarkerShape OpenShape(MarkerShape shape) => shape switch
    {
        MarkerShape.FilledCircle => MarkerShape.OpenCircle,
        MarkerShape.FilledSquare => MarkerShape.OpenSquare,
        MarkerShape.FilledTriangleUp => MarkerShape.OpenTriangleUp,
        MarkerShape.FilledTriangleDown => MarkerShape.OpenTriangleDown,
        MarkerShape.FilledDiamond => MarkerShape.OpenDiamond,
        _ => shape,
    };

    private static LinePattern BudgetPattern(List<string?> budgets, string? budget)
    {
        LinePattern[] patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];
        return budget is null ? LinePattern.Solid : patterns[budgets.IndexOf(budget) % patterns.Length];
    }

    private static Color KindColor(MethodKind kind, int index) => kind switch
    {
        MethodKind.FullFineTuning => Color.FromHex("#404040"),
        MethodKind.BitFit => Color.FromHex("#8c564b"),
        MethodKind.Lora => Color.FromHex("#1f77b4"),
        MethodKind.Dora => Color.FromHex("#ff7f0e"),
        MethodKind.Flora => Color.FromHex("#d62728"),
        MethodKind.Houlsby => Color.FromHex("#2ca02c"),
        MethodKind.Pfeiffer => Color.FromHex("#9467bd"),
        MethodKind.AdaLora => Color.FromHex("#17becf"),
        _ => new ScottPlot.Palettes.Category10().GetColor(index + 4),
    };

    /// <summary>Major ticks at powers of ten (and 2×, 5× when the axis spans less than two decades), minor ticks at the other integers.</summary>
    private static ScottPlot.TickGenerators.NumericManual LogTicks(double low, double high)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        bool dense = high - low < 2.0;
        for (int decade = (int)Math.Floor(low); decade <= (int)Math.Ceiling(high); decade++)
        {
            for (int multiple = 1; multiple <= 9; multiple++)
            {
                double position = decade + Math.Log10(multiple);
                if (position < low || position > high)
                {
                    continue;
                }
                if (multiple == 1 || (dense && (multiple == 2 || multiple == 5)))
                {
                    ticks.AddMajor(position, CompactCount(multiple * Math.Pow(10, decade)));
                }
                else
                {
                    ticks.AddMinor(position);
                }
            }
        }
        return ticks;
    }

    /// <summary>"500", "2k", "10k", "1.5M".</summary>
    internal static string CompactCount(double value)
    {
        if (value >= 1e9)
        {
            return (value / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + "G";
        }
        if (value >= 1e6)
        {
            return (value / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M";
        }
        if (value >= 1e3)
        {
            return (value / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k";
        }
        return value.ToString("0.#", CultureInfo.InvariantCulture);
    }

    private static float TextWidth(int characters) => 0.6f * LabelFontSize * characters;

    private static PixelRect CornerRect(PixelRect data, Alignment corner, float width, float height)
    {
        const float Margin = 8;
        float left = corner is Alignment.UpperLeft or Alignment.LowerLeft ? data.Left + Margin : data.Right - Margin - width;
        float top = corner is Alignment.UpperLeft or Alignment.UpperRight ? data.Top + Margin : data.Bottom - Margin - height;
        return new PixelRect(left, left + width, top + height, top);
    }

    private static Alignment BestCorner(PixelRect data, float width, float height, List<PixelRect> obstacles)
    {
        Alignment[] corners = [Alignment.LowerRight, Alignment.UpperLeft, Alignment.LowerLeft, Alignment.UpperRight];
        return corners.OrderBy(c => Overlap(CornerRect(data, c, width, height), obstacles)).First();
    }

    private static (float Dx, float Dy, Alignment Alignment, PixelRect Box) PlaceLabel(Pixel anchor, string label, PixelRect data, List<PixelRect> obstacles)
    {
        float width = TextWidth(label.Length) + 4;
        float height = LabelFontSize + 6;
        (float Dx, float Dy, Alignment Alignment, PixelRect Box)? best = null;
        double bestCost = double.MaxValue;
        foreach (float dy in new float[] { 0, -18, 18, -36, 36, -54, 54 })
        {
            foreach (bool right in new[] { true, false })
            {
                float dx = right ? 11 : -11;
                float left = right ? anchor.X + dx : anchor.X + dx - width;
                float top = anchor.Y + dy - height / 2;
                var box = new PixelRect(left, left + width, top + height, top);
                double outside = Math.Max(0, data.Left - box.Left) + Math.Max(0, box.Right - data.Right)
                    + Math.Max(0, data.Top - box.Top) + Math.Max(0, box.Bottom - data.Bottom);
                double cost = Overlap(box, obstacles) + 50 * outside + Math.Abs(dy) * 0.01;
                if (cost < bestCost)
                {
                    bestCost = cost;
                    best = (dx, dy, right ? Alignment.MiddleLeft : Alignment.MiddleRight, box);
                }
            }
        }
        return best!.Value;
    }

    private static double Overlap(PixelRect box, List<PixelRect> obstacles)
    {
        double total = 0;
        foreach (PixelRect other in obstacles)
        {
            double w = Math.Min(box.Right, other.Right) - Math.Max(box.Left, other.Left);
            double h = Math.Min(box.Bottom, other.Bottom) - Math.Max(box.Top, other.Top);
            if (w > 0 && h > 0)
            {
                total += w * h;
            }
        }
        return total;
    }
}
