//! Charts drawn on the server as SVG: they show without JavaScript, print, and keep their
//! colours when saved (presentation attributes, not the site's stylesheet). Each has a
//! title and axis labels; the pages put the same numbers in a table beside it.

use leptos::prelude::*;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 48.0;
/// Okabe and Ito's palette: told apart with every common colour-vision deficiency.
pub const COLOURS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#000000",
];
pub const MUTED: &str = "#6b7280";
pub const GRID: &str = "#e5e7eb";

/// One line, or one layer of a stack: a value per category (`None`: no value there).
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub dashed: bool,
}

impl Series {
    pub fn new(name: impl Into<String>, values: Vec<Option<f64>>) -> Self {
        Self {
            name: name.into(),
            values,
            dashed: false,
        }
    }

    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// A round step near `raw`: 1, 2 or 5 times a power of ten.
pub fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
}

fn tick_text(v: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{v:.0}")
    } else if step >= 0.1 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The frame every chart shares: title, legend, y grid and ticks, x labels (at most about
/// ten shown), axis labels. `x` maps a category index to its centre.
struct Frame<'a> {
    id: &'a str,
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    categories: &'a [String],
    y_max: f64,
    legend: Vec<(String, &'static str, bool)>,
}

impl Frame<'_> {
    fn plot_width() -> f64 {
        WIDTH - LEFT - RIGHT
    }

    fn band(&self) -> f64 {
        Self::plot_width() / self.categories.len().max(1) as f64
    }

    fn x(&self, i: usize) -> f64 {
        LEFT + self.band() * (i as f64 + 0.5)
    }

    fn y(&self, v: f64) -> f64 {
        HEIGHT - BOTTOM - v / self.y_max * (HEIGHT - BOTTOM - TOP)
    }

    fn render(self, marks: AnyView) -> AnyView {
        let step = nice_step(self.y_max / 5.0);
        let grid = (0..=((self.y_max / step).floor() as i64))
            .map(|k| {
                let v = k as f64 * step;
                let y = self.y(v);
                view! {
                    <line x1=LEFT x2=WIDTH - RIGHT y1=y y2=y stroke=GRID/>
                    <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end" font-size="11" fill=MUTED>{tick_text(v, step)}</text>
                }
            })
            .collect_view();
        let every = self.categories.len().div_ceil(10).max(1);
        let labels = self
            .categories
            .iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0)
            .map(|(i, c)| {
                view! {
                    <text x=self.x(i) y=HEIGHT - BOTTOM + 16.0 text-anchor="middle" font-size="11" fill=MUTED>{c.clone()}</text>
                }
            })
            .collect_view();
        let mut legend_x = LEFT;
        let legend = self
            .legend
            .iter()
            .map(|(name, colour, dashed)| {
                let x = legend_x;
                legend_x += 24.0 + 7.0 * name.chars().count() as f64;
                let dash = dashed.then_some("5 4");
                view! {
                    <line x1=x x2=x + 16.0 y1=TOP - 14.0 y2=TOP - 14.0 stroke=*colour stroke-width="3" stroke-dasharray=dash/>
                    <text x=x + 20.0 y=TOP - 10.0 font-size="12" fill="#111827">{name.clone()}</text>
                }
            })
            .collect_view();
        let title_id = format!("{}-title", self.id);
        let labelled_by = title_id.clone();
        view! {
            <svg class="chart" id=self.id.to_owned() role="img" aria-labelledby=labelled_by
                viewBox=format!("0 0 {WIDTH} {HEIGHT}") width=WIDTH.to_string() height=HEIGHT.to_string()
                xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">
                <title id=title_id>{self.title.to_owned()}</title>
                <text x=LEFT y="16" font-size="14" font-weight="600" fill="#111827">{self.title.to_owned()}</text>
                {legend}
                {grid}
                {marks}
                <line x1=LEFT x2=WIDTH - RIGHT y1=HEIGHT - BOTTOM y2=HEIGHT - BOTTOM stroke=MUTED/>
                {labels}
                <text x=LEFT + Self::plot_width() / 2.0 y=HEIGHT - 8.0 text-anchor="middle" font-size="12" fill=MUTED>{self.x_label.to_owned()}</text>
                <text x="14" y=(TOP + HEIGHT - BOTTOM) / 2.0 text-anchor="middle" font-size="12" fill=MUTED
                    transform=format!("rotate(-90 14 {})", (TOP + HEIGHT - BOTTOM) / 2.0)>{self.y_label.to_owned()}</text>
            </svg>
        }
        .into_any()
    }
}

fn top(series: &[Series], stacked: bool, categories: usize) -> f64 {
    let max = if stacked {
        (0..categories)
            .map(|i| {
                series
                    .iter()
                    .filter_map(|s| s.values.get(i).copied().flatten())
                    .sum::<f64>()
            })
            .fold(0.0, f64::max)
    } else {
        series
            .iter()
            .flat_map(|s| s.values.iter().copied().flatten())
            .fold(0.0, f64::max)
    };
    if max <= 0.0 {
        1.0
    } else {
        let step = nice_step(max / 5.0);
        (max / step).ceil() * step
    }
}

/// Lines over categories (days); a gap where a value is missing. `y_max`: a fixed top (e.g.
/// 1 for shares), else a round number above the largest value.
pub fn lines(
    id: &str,
    title: &str,
    (x_label, y_label): (&str, &str),
    categories: &[String],
    series: &[Series],
    y_max: Option<f64>,
) -> AnyView {
    let frame = Frame {
        id,
        title,
        x_label,
        y_label,
        categories,
        y_max: y_max.unwrap_or_else(|| top(series, false, categories.len())),
        legend: series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), COLOURS[i % COLOURS.len()], s.dashed))
            .collect(),
    };
    let marks = series
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let colour = COLOURS[k % COLOURS.len()];
            // Runs of consecutive values, each one path; a lone value is a dot.
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (i, v) in s.values.iter().enumerate() {
                match v {
                    Some(v) => runs
                        .last_mut()
                        .expect("a run")
                        .push((frame.x(i), frame.y(*v))),
                    None => runs.push(Vec::new()),
                }
            }
            let dash = s.dashed.then_some("5 4");
            runs.into_iter()
                .filter(|r| !r.is_empty())
                .map(|r| {
                    if r.len() == 1 {
                        view! { <circle cx=r[0].0 cy=r[0].1 r="3" fill=colour/> }.into_any()
                    } else {
                        let d = r
                            .iter()
                            .enumerate()
                            .map(|(i, (x, y))| format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }))
                            .collect::<String>();
                        view! { <path d=d fill="none" stroke=colour stroke-width="2" stroke-dasharray=dash/> }
                            .into_any()
                    }
                })
                .collect_view()
        })
        .collect_view();
    frame.render(marks.into_any())
}

/// Bars stacked per category, one layer per series.
pub fn stacked(
    id: &str,
    title: &str,
    (x_label, y_label): (&str, &str),
    categories: &[String],
    series: &[Series],
) -> AnyView {
    let frame = Frame {
        id,
        title,
        x_label,
        y_label,
        categories,
        y_max: top(series, true, categories.len()),
        legend: series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), COLOURS[i % COLOURS.len()], false))
            .collect(),
    };
    let width = (frame.band() * 0.8).max(1.0);
    let marks = (0..categories.len())
        .map(|i| {
            let mut base = 0.0;
            series
                .iter()
                .enumerate()
                .filter_map(|(k, s)| {
                    let v = s.values.get(i).copied().flatten().filter(|v| *v > 0.0)?;
                    let (y0, y1) = (frame.y(base), frame.y(base + v));
                    base += v;
                    Some(view! {
                        <rect x=frame.x(i) - width / 2.0 y=y1 width=width height=y0 - y1
                            fill=COLOURS[k % COLOURS.len()]><title>{format!("{}: {} {}", categories[i], s.name, v)}</title></rect>
                    })
                })
                .collect_view()
        })
        .collect_view();
    frame.render(marks.into_any())
}

/// Bars with a marker of what was expected on each (e.g. uniform picks).
pub fn bars_against(
    id: &str,
    title: &str,
    (x_label, y_label): (&str, &str),
    categories: &[String],
    values: &[f64],
    expected: &[f64],
) -> AnyView {
    let series = [
        Series::new("observed", values.iter().copied().map(Some).collect()),
        Series::new("expected", expected.iter().copied().map(Some).collect()),
    ];
    let frame = Frame {
        id,
        title,
        x_label,
        y_label,
        categories,
        y_max: top(&series, false, categories.len()),
        legend: vec![
            ("observed".into(), COLOURS[0], false),
            ("expected without bias".into(), COLOURS[5], true),
        ],
    };
    let width = (frame.band() * 0.6).max(1.0);
    let marks = values
        .iter()
        .zip(expected)
        .enumerate()
        .map(|(i, (v, e))| {
            let (x, y0, y1, ye) = (frame.x(i), frame.y(0.0), frame.y(*v), frame.y(*e));
            view! {
                <rect x=x - width / 2.0 y=y1 width=width height=y0 - y1 fill=COLOURS[0]>
                    <title>{format!("{}: {v:.3} (expected {e:.3})", categories[i])}</title>
                </rect>
                <line x1=x - width / 2.0 - 6.0 x2=x + width / 2.0 + 6.0 y1=ye y2=ye stroke=COLOURS[5]
                    stroke-width="3" stroke-dasharray="5 4"/>
            }
        })
        .collect_view();
    frame.render(marks.into_any())
}

/// A chart as a document of its own (an `<img>`'s source, a saved file): XML, so without
/// the `<!>` markers the HTML renderer leaves between parts (not XML comments).
pub fn standalone(svg: String) -> String {
    svg.replace("<!>", "")
}

/// A tiny standalone chart (a document of its own): `done` as a line under the level of
/// `all`, for a table cell.
pub fn sparkline(title: &str, done: &[f64], all: &[f64]) -> String {
    const W: f64 = 120.0;
    const H: f64 = 28.0;
    let top = all.iter().chain(done).copied().fold(0.0, f64::max).max(1.0);
    let step = W / (done.len().max(2) - 1) as f64;
    let points = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 * step,
                    H - 2.0 - v / top * (H - 4.0)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (done, all) = (points(done), points(all));
    let svg = view! {
        <svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox=format!("0 0 {W} {H}") width=W.to_string() height=H.to_string()>
            <title>{title.to_owned()}</title>
            <polyline points=all fill="none" stroke=GRID stroke-width="2"/>
            <polyline points=done fill="none" stroke=COLOURS[0] stroke-width="2"/>
        </svg>
    }
    .to_html();
    standalone(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(37.0), 50.0);
        assert_eq!(nice_step(12.0), 20.0);
        assert_eq!(nice_step(100.0), 100.0);
        assert_eq!(nice_step(0.3), 0.5);
    }

    #[test]
    fn the_top_is_round_and_above_the_largest_value() {
        let s = [Series::new("a", vec![Some(3.0), None, Some(47.0)])];
        assert_eq!(top(&s, false, 3), 50.0);
        let s = [
            Series::new("a", vec![Some(30.0), Some(1.0)]),
            Series::new("b", vec![Some(40.0), None]),
        ];
        assert_eq!(top(&s, true, 2), 80.0);
        assert_eq!(top(&[], false, 0), 1.0);
    }

    #[test]
    fn a_chart_has_its_title_axes_and_marks() {
        let days: Vec<String> = ["12-01", "12-02", "12-03"].map(String::from).to_vec();
        let html = lines(
            "burn",
            "Items done",
            ("day", "items"),
            &days,
            &[Series::new("done", vec![Some(1.0), Some(4.0), None])],
            None,
        )
        .to_html();
        assert!(
            html.contains("<title id=\"burn-title\">Items done</title>"),
            "{html}"
        );
        assert!(html.contains("aria-labelledby=\"burn-title\""));
        assert!(html.contains(">day</text>") && html.contains(">items</text>"));
        // Two values in a run: one path; the missing third draws nothing.
        assert_eq!(html.matches("<path").count(), 1, "{html}");
        let html = stacked(
            "t",
            "Labels",
            ("day", "labels"),
            &days,
            &[
                Series::new("a", vec![Some(2.0), Some(0.0), Some(1.0)]),
                Series::new("b", vec![Some(1.0), None, None]),
            ],
        )
        .to_html();
        // A rect per positive value.
        assert_eq!(html.matches("<rect").count(), 3, "{html}");
    }
}
