//! One script: its own thread, QuickJS runtime and global scope. Every callback (interval, flow record,
//! event, HTTP request, async result) is taken from a queue by this thread and run to completion before the
//! next, within a time budget enforced by QuickJS's interrupt handler and a memory limit.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select};
use rquickjs::context::EvalOptions;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Persistent, Runtime, Value};
use rtflow_engine::{Event, FlowRecord, Millis, Subscription};

use crate::baseline::Baseline;
use crate::host::Host;
use crate::loader::{ScriptSpec, metadata};
use crate::net::{HttpCall, HttpReply};
use crate::request::{ScriptRequest, ScriptResponse};
use crate::rewrite::rewrite;
use crate::status::ScriptStatus;
use crate::{Shared, api};

/// Messages other than HTTP requests: control and the results of `httpAsync`.
pub(crate) enum Control {
    Stop,
    AsyncDone {
        id: u64,
        result: Result<HttpReply, String>,
    },
}

/// An HTTP request for the script, and where its answer goes.
pub(crate) struct HttpJob {
    pub request: ScriptRequest,
    pub reply: tokio::sync::oneshot::Sender<ScriptResponse>,
}

/// An `httpAsync` request for the worker pool.
pub(crate) struct AsyncJob {
    pub id: u64,
    pub call: HttpCall,
    pub reply: crossbeam_channel::Sender<Control>,
}

/// Deadline of the running callback, checked by QuickJS's interrupt handler.
#[derive(Debug)]
pub(crate) struct Budget {
    started: Instant,
    /// ms since `started` after which to interrupt; `u64::MAX` when idle.
    deadline_ms: AtomicU64,
    tripped: AtomicBool,
    stopping: Arc<AtomicBool>,
}

impl Budget {
    fn new(stopping: Arc<AtomicBool>) -> Self {
        Self {
            started: Instant::now(),
            deadline_ms: AtomicU64::new(u64::MAX),
            tripped: AtomicBool::new(false),
            stopping,
        }
    }

    fn arm(&self, budget: Duration) {
        self.tripped.store(false, Ordering::Relaxed);
        let deadline = self.started.elapsed() + budget;
        self.deadline_ms
            .store(deadline.as_millis() as u64, Ordering::Relaxed);
    }

    fn disarm(&self) -> bool {
        self.deadline_ms.store(u64::MAX, Ordering::Relaxed);
        self.tripped.load(Ordering::Relaxed)
    }

    fn expired(&self) -> bool {
        if self.stopping.load(Ordering::Relaxed) {
            return true;
        }
        let deadline = self.deadline_ms.load(Ordering::Relaxed);
        if deadline != u64::MAX && self.started.elapsed().as_millis() as u64 > deadline {
            self.tripped.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// A JS function kept across `Context::with` calls.
pub(crate) type Callback = Persistent<Function<'static>>;

/// The script's registered handlers and subscriptions.
#[derive(Default)]
pub(crate) struct Handlers {
    pub http: Option<Callback>,
    pub interval: Option<(Callback, u64)>,
    pub next_interval: Option<Millis>,
    pub flow: Option<(Callback, Subscription<FlowRecord>)>,
    pub event: Option<(Callback, Subscription<Event>)>,
    /// `httpAsync` callbacks by request id: (success, error).
    pub pending: HashMap<u64, (Option<Callback>, Option<Callback>)>,
}

/// Everything the API functions of one script share (single-threaded: lives on the script's thread).
pub(crate) struct Env {
    pub spec: ScriptSpec,
    pub shared: Arc<Shared>,
    pub status: Arc<ScriptStatus>,
    pub handlers: RefCell<Handlers>,
    pub baselines: RefCell<BTreeMap<String, Baseline>>,
    pub next_async_id: Cell<u64>,
    pub control: crossbeam_channel::Sender<Control>,
}

impl Env {
    pub(crate) fn host(&self) -> &dyn Host {
        self.shared.host.as_ref()
    }
}

/// Runs a script until it is stopped. Errors at load leave the script dead with its error in the status.
pub(crate) fn run(
    spec: ScriptSpec,
    shared: Arc<Shared>,
    status: Arc<ScriptStatus>,
    control: (crossbeam_channel::Sender<Control>, Receiver<Control>),
    http: Receiver<HttpJob>,
) {
    let (control_tx, control_rx) = control;
    let outcome = run_script(&spec, &shared, &status, control_tx, &control_rx, &http);
    if let Err(message) = outcome {
        tracing::error!("script {}: {message}", spec.id);
        status.set_error(message);
    } else {
        status.graceful_exit.store(true, Ordering::Relaxed);
    }
    status.alive.store(false, Ordering::Relaxed);
    // Requests still queued get an answer instead of waiting out their timeout.
    for job in http.try_iter() {
        let _ = job
            .reply
            .send(ScriptResponse::error(503, "script is not running"));
    }
}

fn run_script(
    spec: &ScriptSpec,
    shared: &Arc<Shared>,
    status: &Arc<ScriptStatus>,
    control_tx: crossbeam_channel::Sender<Control>,
    control_rx: &Receiver<Control>,
    http: &Receiver<HttpJob>,
) -> Result<(), String> {
    let source = std::fs::read_to_string(&spec.path)
        .map_err(|e| format!("cannot read {}: {e}", spec.path.display()))?;
    let runtime = Runtime::new().map_err(|e| format!("cannot create a JavaScript runtime: {e}"))?;
    runtime.set_memory_limit(shared.limits.memory_bytes);
    runtime.set_max_stack_size(1024 * 1024);
    let budget = Arc::new(Budget::new(shared.stopping.clone()));
    let check = budget.clone();
    runtime.set_interrupt_handler(Some(Box::new(move || check.expired())));
    let context = Context::full(&runtime).map_err(|e| format!("cannot create a context: {e}"))?;
    let env = Rc::new(Env {
        spec: spec.clone(),
        shared: shared.clone(),
        status: status.clone(),
        handlers: RefCell::new(Handlers::default()),
        baselines: RefCell::new(BTreeMap::new()),
        next_async_id: Cell::new(1),
        control: control_tx,
    });
    let runner = Runner {
        env: env.clone(),
        budget,
    };
    let loaded = context.with(|ctx| runner.load(&ctx, &source));
    let result = match loaded {
        Ok(()) => {
            tracing::info!("script {} started", spec.id);
            runner.serve(&context, control_rx, http);
            Ok(())
        }
        Err(message) => Err(message),
    };
    // Persistent handles must be released before the runtime goes.
    context.with(|_| {
        let mut handlers = env.handlers.borrow_mut();
        *handlers = Handlers::default();
    });
    drop(runner);
    drop(env);
    drop(context);
    drop(runtime);
    result
}

struct Runner {
    env: Rc<Env>,
    budget: Arc<Budget>,
}

/// How many queued flow records or events one wake-up processes before looking at other queues.
const BATCH: usize = 1024;

impl Runner {
    fn limits(&self) -> &crate::Limits {
        &self.env.shared.limits
    }

    /// Installs the API and evaluates the script (after the Mozilla-syntax rewrite).
    fn load(&self, ctx: &Ctx<'_>, source: &str) -> Result<(), String> {
        api::install(ctx, &self.env).map_err(|e| format!("cannot install the API: {e}"))?;
        if let Some(namespace) = metadata(source).get("wrapglobals") {
            api::wrap_globals(ctx, namespace).map_err(|e| format!("wrapglobals: {e}"))?;
        }
        let file = self.env.spec.file_name();
        self.timed(|| eval_file(ctx, source, &file))
            .map_err(|e| self.describe(ctx, e, "load"))
    }

    /// Runs `f` under the time budget, adding its CPU time to the script's.
    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let cpu = thread_cpu_ns();
        self.budget.arm(self.limits().callback_budget);
        let out = f();
        self.budget.disarm();
        self.env
            .status
            .cpu_ns
            .fetch_add(thread_cpu_ns().saturating_sub(cpu), Ordering::Relaxed);
        out
    }

    /// `file#line Name: message` for a caught error; notes interruptions.
    fn describe(&self, ctx: &Ctx<'_>, error: CaughtError<'_>, during: &str) -> String {
        if self.budget.tripped.swap(false, Ordering::Relaxed) {
            self.env.status.interrupted.fetch_add(1, Ordering::Relaxed);
            return format!(
                "{during}: interrupted after running longer than {} ms (script.timeout)",
                self.limits().callback_budget.as_millis()
            );
        }
        let _ = ctx;
        describe_error(&self.env.spec.file_name(), &error)
    }

    /// Logs a failed callback; the script goes on.
    fn report(&self, ctx: &Ctx<'_>, error: CaughtError<'_>, during: &str) {
        let message = self.describe(ctx, error, during);
        tracing::warn!("script {}: {during}: {message}", self.env.spec.id);
        self.env.status.set_error(message);
        ctx.run_gc();
    }

    fn serve(&self, context: &Context, control: &Receiver<Control>, http: &Receiver<HttpJob>) {
        let ticks = self.env.host().engine().subscribe_ticks(4);
        loop {
            if self.env.shared.stopping.load(Ordering::Relaxed) {
                return;
            }
            let (flow_rx, event_rx) = {
                let handlers = self.env.handlers.borrow();
                (
                    handlers.flow.as_ref().map(|(_, s)| s.receiver().clone()),
                    handlers.event.as_ref().map(|(_, s)| s.receiver().clone()),
                )
            };
            let mut select = Select::new();
            let control_index = select.recv(control);
            let http_index = select.recv(http);
            let tick_index = select.recv(ticks.receiver());
            let flow_index = flow_rx.as_ref().map(|rx| select.recv(rx));
            let event_index = event_rx.as_ref().map(|rx| select.recv(rx));
            let operation = select.select();
            let index = operation.index();
            if index == control_index {
                match operation.recv(control) {
                    Ok(Control::AsyncDone { id, result }) => {
                        context.with(|ctx| self.async_done(&ctx, id, result));
                    }
                    Ok(Control::Stop) | Err(_) => return,
                }
            } else if index == http_index {
                match operation.recv(http) {
                    Ok(job) => context.with(|ctx| self.http(&ctx, job)),
                    Err(_) => return,
                }
            } else if index == tick_index {
                if let Ok(now) = operation.recv(ticks.receiver()) {
                    context.with(|ctx| self.tick(&ctx, now));
                }
            } else if let (Some(i), Some(rx)) = (flow_index, &flow_rx)
                && i == index
            {
                if let Ok(first) = operation.recv(rx) {
                    let records: Vec<FlowRecord> = std::iter::once(first)
                        .chain(rx.try_iter().take(BATCH))
                        .collect();
                    context.with(|ctx| self.flows(&ctx, records));
                }
            } else if let (Some(i), Some(rx)) = (event_index, &event_rx)
                && i == index
                && let Ok(first) = operation.recv(rx)
            {
                let events: Vec<Event> = std::iter::once(first)
                    .chain(rx.try_iter().take(BATCH))
                    .collect();
                context.with(|ctx| self.events(&ctx, events));
            }
        }
    }

    /// Calls a stored callback with `args` under the budget; logs and swallows what it throws.
    fn call<'js>(
        &self,
        ctx: &Ctx<'js>,
        callback: &Callback,
        args: impl rquickjs::function::IntoArgs<'js>,
        during: &str,
    ) -> Option<Value<'js>> {
        let function = callback.clone().restore(ctx).ok()?;
        match self.timed(|| function.call::<_, Value>(args).catch(ctx)) {
            Ok(value) => Some(value),
            Err(error) => {
                self.report(ctx, error, during);
                None
            }
        }
    }

    fn tick(&self, ctx: &Ctx<'_>, now: Millis) {
        let due = {
            let mut handlers = self.env.handlers.borrow_mut();
            let Some((callback, period)) = handlers.interval.clone() else {
                return;
            };
            let next = handlers.next_interval.unwrap_or(now);
            if now < next {
                return;
            }
            let mut following = next.saturating_add(period);
            if following <= now {
                following = now + period;
            }
            handlers.next_interval = Some(following);
            callback
        };
        self.call(ctx, &due, (now as f64,), "interval handler");
    }

    fn flows(&self, ctx: &Ctx<'_>, records: Vec<FlowRecord>) {
        let callback = match &self.env.handlers.borrow().flow {
            Some((callback, _)) => callback.clone(),
            None => return,
        };
        self.env
            .status
            .flows_received
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        for record in records {
            let Ok(object) = api::flow_record_object(ctx, &record) else {
                continue;
            };
            self.call(ctx, &callback, (object,), "flow handler");
        }
    }

    fn events(&self, ctx: &Ctx<'_>, events: Vec<Event>) {
        let callback = match &self.env.handlers.borrow().event {
            Some((callback, _)) => callback.clone(),
            None => return,
        };
        self.env
            .status
            .events_received
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        for event in events {
            let Ok(object) = api::event_object(ctx, &event) else {
                continue;
            };
            self.call(ctx, &callback, (object,), "event handler");
        }
    }

    fn async_done(&self, ctx: &Ctx<'_>, id: u64, result: Result<HttpReply, String>) {
        let Some((success, error)) = self.env.handlers.borrow_mut().pending.remove(&id) else {
            return;
        };
        match result {
            Ok(reply) if reply.status < 400 => {
                if let (Some(callback), Ok(res)) = (success, api::reply_object(ctx, &reply)) {
                    self.call(ctx, &callback, (res,), "httpAsync success");
                }
            }
            Ok(reply) => {
                if let (Some(callback), Ok(res)) = (error, api::reply_object(ctx, &reply)) {
                    self.call(ctx, &callback, (res,), "httpAsync error");
                }
            }
            Err(message) => {
                if let Some(callback) = error {
                    let value = rquickjs::String::from_str(ctx.clone(), &message)
                        .map(rquickjs::String::into_value)
                        .ok();
                    if let Some(value) = value {
                        self.call(ctx, &callback, (value,), "httpAsync error");
                    }
                }
            }
        }
    }

    fn http(&self, ctx: &Ctx<'_>, job: HttpJob) {
        let response = self.http_response(ctx, &job.request);
        let _ = job.reply.send(response);
    }

    fn http_response(&self, ctx: &Ctx<'_>, request: &ScriptRequest) -> ScriptResponse {
        let callback = self.env.handlers.borrow().http.clone();
        let Some(callback) = callback else {
            return ScriptResponse::error(404, "the script has no HTTP handler");
        };
        let Ok(function) = callback.restore(ctx) else {
            return ScriptResponse::error(500, "handler unavailable");
        };
        let req = match api::request_object(ctx, request) {
            Ok(req) => req,
            Err(e) => return ScriptResponse::error(500, format!("cannot build the request: {e}")),
        };
        let result = self.timed(|| function.call::<_, Value>((req,)).catch(ctx));
        match result {
            Ok(value) => self.render(ctx, &value, &request.format),
            Err(CaughtError::Value(thrown)) if thrown.is_string() => {
                ScriptResponse::thrown(&crate::convert::to_text(&thrown).unwrap_or_default())
            }
            Err(error) => {
                let message = self.describe(ctx, error, "HTTP handler");
                tracing::warn!("script {}: HTTP handler: {message}", self.env.spec.id);
                self.env.status.set_error(message.clone());
                ctx.run_gc();
                ScriptResponse::error(500, message)
            }
        }
    }

    /// The handler's return value as a response (spec §5.5).
    fn render<'js>(&self, ctx: &Ctx<'js>, value: &Value<'js>, format: &str) -> ScriptResponse {
        if value.is_undefined() {
            return ScriptResponse::no_content();
        }
        if format == "json"
            || !(value.is_string() || value.is_number() || value.is_bool() || value.is_null())
        {
            return match ctx.json_stringify(value.clone()) {
                Ok(Some(text)) => match text.to_string() {
                    Ok(text) if format == "json" => ScriptResponse::json(text),
                    Ok(text) => ScriptResponse::text(text, format),
                    Err(e) => ScriptResponse::error(500, e.to_string()),
                },
                Ok(None) => ScriptResponse::no_content(),
                Err(_) => {
                    let caught = ctx.catch();
                    let message = crate::convert::to_text(&caught).unwrap_or_default();
                    ScriptResponse::error(500, format!("cannot serialize the result: {message}"))
                }
            };
        }
        if value.is_null() {
            return ScriptResponse::no_content();
        }
        ScriptResponse::text(crate::convert::to_text(value).unwrap_or_default(), format)
    }
}

/// Evaluates `source` (rewritten) as sloppy-mode global code named `file`.
pub(crate) fn eval_file<'js>(
    ctx: &Ctx<'js>,
    source: &str,
    file: &str,
) -> Result<(), CaughtError<'js>> {
    let mut options = EvalOptions::default();
    options.strict = false;
    options.global = true;
    options.filename = Some(file.to_string());
    ctx.eval_with_options::<Value, _>(rewrite(source), options)
        .map(|_| ())
        .catch(ctx)
}

/// `file#line Name: message` (sFlow-RT's `script.js#3 ReferenceError: …` style) for a caught error.
pub(crate) fn describe_error(file: &str, error: &CaughtError<'_>) -> String {
    match error {
        CaughtError::Exception(exception) => {
            let message = exception.message().unwrap_or_default();
            let name = exception
                .as_object()
                .get::<_, String>("name")
                .unwrap_or_else(|_| "Error".to_string());
            let stack = exception.stack().unwrap_or_default();
            match stack_location(&stack) {
                Some((at_file, line)) => format!("{at_file}#{line} {name}: {message}"),
                None => format!("{file} {name}: {message}"),
            }
        }
        CaughtError::Value(value) => {
            let text = crate::convert::to_text(value).unwrap_or_else(|| "undefined".into());
            format!("{file} uncaught: {text}")
        }
        CaughtError::Error(error) => format!("{file} {error}"),
    }
}

/// The first `file:line` of a QuickJS stack trace (`    at f (top.js:12:5)`).
fn stack_location(stack: &str) -> Option<(String, u32)> {
    for line in stack.lines() {
        let line = line.trim();
        let Some(frame) = line.strip_prefix("at ") else {
            continue;
        };
        let location = match (frame.rfind('('), frame.rfind(')')) {
            (Some(open), Some(close)) if open < close => &frame[open + 1..close],
            _ => frame,
        };
        let mut parts = location.rsplitn(3, ':');
        let last = parts.next()?;
        let (file, line_number) = match (parts.next(), parts.next()) {
            (Some(line_no), Some(file)) => (file, line_no),
            (Some(file), None) => (file, last),
            _ => continue,
        };
        if let Ok(n) = line_number.parse::<u32>() {
            let file = Path::new(file)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.to_string());
            return Some((file, n));
        }
    }
    None
}

/// CPU time of the calling thread, in ns.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64).saturating_mul(1_000_000_000) + ts.tv_nsec as u64
}

/// A JS function kept for later calls (`None` when `value` is not a function).
pub(crate) fn as_callback<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> Option<Callback> {
    let function = value.as_function()?.clone();
    Some(Persistent::save(ctx, function))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_locations() {
        assert_eq!(
            stack_location("    at f (top.js:12:5)\n    at <eval> (top.js:20:1)\n"),
            Some(("top.js".into(), 12))
        );
        assert_eq!(
            stack_location("    at /x/y/inc/trend.js:3:9\n"),
            Some(("trend.js".into(), 3))
        );
        assert_eq!(stack_location("nothing"), None);
    }
}
