// The Savepoint demo page: plain JavaScript, no build step. It talks to the runtime bridge only:
// POST /runs, GET /runs?status=pending_input, GET /runs/:id, POST /runs/:id/input, POST /runs/:id/resume,
// GET /runs/:id/checkpoints and the run's event stream (SSE by default, WebSocket with ?transport=ws).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    model: $('model'),
    status: $('run-status'),
    runLink: $('run-link'),
    log: $('log'),
    form: $('start-form'),
    topic: $('topic'),
    start: $('start'),
    startError: $('start-error'),
    waiting: $('waiting'),
    refreshWaiting: $('refresh-waiting'),
    timeline: $('timeline'),
    approvalTemplate: $('approval-template'),
  };
  const params = new URLSearchParams(location.search);
  const transport = params.get('transport') === 'ws' ? 'ws' : 'sse';
  const EVENT_TYPES = [
    'run_started', 'node_started', 'node_completed', 'node_failed', 'node_skipped', 'stream_chunk', 'tool_result',
    'approval_requested', 'approval_received', 'checkpoint_created', 'checkpoint_resumed', 'run_paused',
    'run_completed', 'run_failed', 'run_canceled',
  ];
  const TERMINAL = new Set(['run_completed', 'run_failed', 'run_canceled']);
  const STATUS_TEXT = {
    active: 'running',
    running: 'running',
    paused: 'paused',
    pending_input: 'waiting for your approval',
    completed: 'completed',
    success: 'completed',
    failed: 'failed',
    failure: 'failed',
    canceled: 'canceled',
  };
  let workflowName = 'chat';
  /** The open run: everything rendered for it, so a stale stream can never write into another run's view. */
  let view = null;

  // ---------- helpers ----------
  const short = (id) => String(id).slice(-8);
  const newKey = () =>
    (globalThis.crypto && typeof crypto.randomUUID === 'function')
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key in node && typeof value !== 'string') node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== undefined && child !== null) node.append(child);
    return node;
  }
  const time = (value) => {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  };
  async function api(path, init = {}) {
    const headers = { Accept: 'application/json', ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...(init.headers || {}) };
    const response = await fetch(path, { ...init, headers });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const message = (body && body.error && body.error.message) || `${response.status} ${response.statusText}`;
      const error = new Error(message);
      error.status = response.status;
      error.code = body && body.error && body.error.code;
      throw error;
    }
    return body;
  }
  const runPath = (runId) => `/runs/${encodeURIComponent(runId)}`;
  const pageUrl = (runId) => {
    const query = new URLSearchParams();
    if (runId) query.set('run', runId);
    if (transport === 'ws') query.set('transport', 'ws');
    const text = query.toString();
    return text ? `/?${text}` : '/';
  };
  function scrollLog() {
    const last = els.log.lastElementChild;
    if (last) last.scrollIntoView({ block: 'nearest' });
  }
  function topicText(input) {
    if (input && typeof input === 'object' && typeof input.topic === 'string') return input.topic;
    return typeof input === 'string' ? input : JSON.stringify(input);
  }

  // ---------- the open run ----------
  function setStatus(v, status, detail) {
    if (v !== view) return;
    v.status = status;
    const text = STATUS_TEXT[status] || status;
    els.status.textContent = `Run ${short(v.runId)}: ${text}${detail ? ` (${detail})` : ''}`;
    els.status.dataset.status = status;
  }

  function openRun(runId, { push = true, forkedFromRun, fresh = false } = {}) {
    closeView();
    if (push) history.pushState({ runId }, '', pageUrl(runId));
    view = {
      runId,
      lastSeq: -1,
      closed: false,
      source: null,
      bubbles: new Map(),
      approvals: new Map(),
      labels: new Map(),
      since: 'run started',
      shownInput: false,
      forkedFromRun,
      timelineTimer: null,
      status: 'loading',
    };
    els.log.replaceChildren();
    els.timeline.replaceChildren();
    els.status.textContent = `Run ${short(runId)}: loading…`;
    els.status.dataset.status = 'loading';
    els.runLink.hidden = false;
    els.runLink.replaceChildren(
      'Open this run on another device: ',
      el('a', { href: pageUrl(runId), text: new URL(pageUrl(runId), location.href).href }),
    );
    const v = view;
    api(runPath(runId)).then(
      (run) => {
        if (v.status === 'loading') setStatus(v, run.status);
        if (run.workflow) workflowName = run.workflow;
      },
      (error) => {
        if (v !== view) return;
        // A run this page just started may not be stored yet: its events will tell.
        if (error.status === 404) {
          if (!fresh && v.lastSeq < 0) {
            v.notFound = true;
            els.status.textContent = `No run ${short(runId)} here (it may belong to someone else, or was deleted).`;
            els.status.dataset.status = 'not_found';
          }
        } else addNotice(v, `Could not load the run: ${error.message}`, 'error');
      },
    );
    subscribe(v);
    refreshTimeline(v);
    markWaitingCurrent();
  }

  function closeView() {
    if (!view) return;
    view.closed = true;
    const source = view.source;
    view.source = null;
    if (source) source.close();
    clearTimeout(view.timelineTimer);
    clearTimeout(view.retryTimer);
  }

  function subscribe(v) {
    if (transport === 'ws') subscribeWebSocket(v);
    else subscribeSse(v);
  }

  function subscribeSse(v) {
    // The browser reconnects by itself, sending Last-Event-ID: the log replays what was missed.
    const source = new EventSource(`${runPath(v.runId)}/events${v.lastSeq >= 0 ? `?after=${v.lastSeq}` : ''}`);
    v.source = source;
    const onMessage = (event) => {
      let envelope;
      try {
        envelope = JSON.parse(event.data);
      } catch {
        return;
      }
      handle(v, envelope);
    };
    source.onmessage = onMessage;
    for (const type of EVENT_TYPES) source.addEventListener(type, onMessage);
    source.onerror = () => {
      // CONNECTING: the browser retries by itself. CLOSED: an HTTP error, e.g. a 404 for a fork that has
      // not written its first checkpoint yet: subscribe again from the last event seen.
      if (source.readyState === EventSource.CLOSED && v.source === source) {
        v.source = null;
        retrySubscribe(v);
      }
    };
    source.onopen = () => {
      v.retries = 0;
    };
  }

  function retrySubscribe(v) {
    if (v.closed || v !== view || v.notFound) return;
    v.retries = (v.retries || 0) + 1;
    clearTimeout(v.retryTimer);
    v.retryTimer = setTimeout(() => {
      if (!v.closed && v === view && !v.source) subscribe(v);
    }, Math.min(500 * v.retries, 5000));
  }

  function subscribeWebSocket(v) {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    v.source = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'subscribe', runId: v.runId, ...(v.lastSeq >= 0 ? { after: v.lastSeq } : {}) }));
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.seq === 'number') {
        v.retries = 0;
        handle(v, message);
      } else if (message && message.type === 'error') {
        // NOT_FOUND: a fork that has not written its first checkpoint yet; subscribe again shortly.
        if (message.code === 'NOT_FOUND' && !v.notFound) socket.close();
        else addNotice(v, `Stream error: ${message.message || message.code}`, 'error');
      }
    };
    socket.onclose = () => {
      // Reconnect from the last event seen: nothing is lost, nothing is shown twice.
      if (v.source === socket) {
        v.source = null;
        retrySubscribe(v);
      }
    };
  }

  function handle(v, envelope) {
    if (v !== view || v.closed || !envelope || typeof envelope.type !== 'string') return;
    if (envelope.runId && envelope.runId !== v.runId) return;
    if (typeof envelope.seq === 'number') {
      if (envelope.seq <= v.lastSeq) return; // a replayed duplicate
      v.lastSeq = envelope.seq;
    }
    const data = envelope.data || {};
    if (envelope.type !== 'stream_chunk') settleBubble(v);
    switch (envelope.type) {
      case 'run_started':
        if (!v.shownInput) {
          v.shownInput = true;
          addUser(v, topicText(data.input));
        }
        setStatus(v, 'active');
        break;
      case 'checkpoint_resumed':
        v.since = data.forkedFrom ? 'forked' : 'resumed';
        if (data.forkedFrom) {
          addNotice(v, `Forked from checkpoint #${data.seq}: a new run that starts from that saved state.`, 'fork', v.forkedFromRun);
        } else {
          addNotice(v, `Resumed from checkpoint #${data.seq}: finished steps are not run again.`, 'resume');
        }
        break;
      case 'stream_chunk':
        appendToken(v, data);
        v.since = `answer (LLM call ${data.loop ?? '?'})`;
        break;
      case 'tool_result':
        addTool(v, data);
        v.since = `${data.tool || 'tool'} result`;
        break;
      case 'approval_requested':
        showApproval(v, data);
        v.since = 'approval requested';
        break;
      case 'approval_received':
        markAnswered(v, data.requestId || data.nodePath, data.value);
        v.since = data.value && data.value.approved ? 'approved' : 'rejected';
        break;
      case 'node_completed':
        v.since = `${envelope.nodeId || 'step'} finished`;
        break;
      case 'node_failed':
        addNotice(v, `Step ${envelope.nodeId || data.nodeId || ''} failed: ${(data.error && data.error.message) || 'unknown error'}`, 'error');
        break;
      case 'checkpoint_created':
        v.labels.set(data.checkpointId, v.since);
        v.since = 'progress saved';
        scheduleTimeline(v);
        break;
      case 'run_paused':
        setStatus(v, 'pending_input');
        refreshWaiting();
        break;
      case 'run_completed':
        finishAnswer(v, data.output);
        setStatus(v, 'completed');
        end(v);
        break;
      case 'run_failed':
        addNotice(v, `The run failed: ${(data.error && data.error.message) || 'unknown error'}. Pick a checkpoint to retry from it.`, 'error');
        setStatus(v, 'failed');
        end(v);
        break;
      case 'run_canceled':
        setStatus(v, 'canceled');
        end(v);
        break;
      default:
        break;
    }
  }

  /** A finished run: stop the stream (its log is complete) and refresh the side panels. */
  function end(v) {
    v.closed = true;
    const source = v.source;
    v.source = null;
    if (source) source.close();
    scheduleTimeline(v, true);
    refreshWaiting();
  }

  // ---------- conversation ----------
  function addEntry(v, node) {
    if (v !== view) return node;
    els.log.append(node);
    scrollLog();
    return node;
  }
  /** The request opens the conversation, also in a fork (whose log starts with the fork notice). */
  function addUser(v, text) {
    if (v !== view) return;
    els.log.prepend(el('li', { class: 'entry user' }, el('p', { class: 'who', text: 'You' }), el('p', { class: 'text', text: `Research: ${text}` })));
  }
  function addNotice(v, text, kind, linkRun) {
    const node = el('li', { class: `entry notice ${kind || ''}` }, el('span', { text }));
    if (linkRun) node.append(' ', el('a', { href: pageUrl(linkRun), text: `Back to run ${short(linkRun)}` }));
    addEntry(v, node);
  }
  function appendToken(v, data) {
    const key = `${data.nodePath || 'agent'}#${data.loop ?? 0}`;
    let bubble = v.bubbles.get(key);
    if (!bubble) {
      const text = el('p', { class: 'text' });
      bubble = el('li', { class: 'entry assistant', 'data-chunks': '0' }, el('p', { class: 'who', text: 'Agent' }), text);
      bubble.textNode = text;
      v.bubbles.set(key, bubble);
      v.lastBubble = bubble;
      addEntry(v, bubble);
    }
    if (v.streamingBubble !== bubble) {
      settleBubble(v);
      v.streamingBubble = bubble;
      bubble.classList.add('streaming');
      bubble.setAttribute('aria-busy', 'true');
    }
    bubble.textNode.append(document.createTextNode(String(data.delta ?? '')));
    bubble.dataset.chunks = String(Number(bubble.dataset.chunks) + 1);
    scrollLog();
  }
  /** The streamed answer is over (the next event is something else): no cursor, and readers may announce it. */
  function settleBubble(v) {
    const bubble = v.streamingBubble;
    if (!bubble) return;
    v.streamingBubble = null;
    bubble.classList.remove('streaming');
    bubble.removeAttribute('aria-busy');
  }
  function finishAnswer(v, output) {
    // A model that did not stream its final answer: show the output itself.
    const last = v.lastBubble && v.lastBubble.textNode.textContent.trim();
    if (typeof output === 'string' && output.trim() && last !== output.trim()) {
      addEntry(v, el('li', { class: 'entry assistant' }, el('p', { class: 'who', text: 'Agent' }), el('p', { class: 'text', text: output })));
    }
    addNotice(v, 'Run completed.', 'done');
  }
  function addTool(v, data) {
    const result = data.result || {};
    const findings = Array.isArray(result.findings) ? result.findings : [];
    const query = (data.arguments && data.arguments.query) || result.query || '';
    const list = el('ul', { class: 'findings' }, ...findings.map((f) => el('li', { text: f })));
    addEntry(v, el('li', { class: 'entry tool' }, el('p', { class: 'who', text: `Tool: ${data.tool || 'search'}("${query}")` }), list));
  }

  // Cards are keyed by the question's requestId: a question re-asked after a resume keeps its id (and its card);
  // a new question at the same nodePath (an agent's next approval) gets a new id and a card of its own.
  function showApproval(v, data) {
    const nodePath = data.nodePath;
    const requestId = data.requestId || nodePath;
    let card = v.approvals.get(requestId);
    if (card) return; // re-asked after a resume: the card is already there
    card = els.approvalTemplate.content.firstElementChild.cloneNode(true);
    const [first, ...rest] = String(data.prompt || 'Approve?').split('\n\n');
    card.querySelector('.prompt').textContent = first;
    const draft = card.querySelector('.draft');
    if (rest.length) draft.textContent = rest.join('\n\n');
    else draft.remove();
    card.dataset.nodePath = nodePath;
    if (data.requestId) card.dataset.requestId = data.requestId;
    const approve = card.querySelector('.approve');
    const reject = card.querySelector('.reject');
    approve.addEventListener('click', () => sendAnswer(v, card, true));
    reject.addEventListener('click', () => sendAnswer(v, card, false));
    v.approvals.set(requestId, card);
    addEntry(v, card);
  }

  async function sendAnswer(v, card, approved) {
    const note = card.querySelector('.note').value.trim();
    const value = note ? { approved, note } : { approved };
    const buttons = card.querySelectorAll('button');
    const error = card.querySelector('.error');
    buttons.forEach((b) => { b.disabled = true; });
    error.hidden = true;
    card.querySelector('.decision').textContent = 'Sending your answer…';
    try {
      // The key makes a retried POST (a flaky network) count once; the requestId binds the answer to the
      // question on this card, so it can never answer a later question (409 INPUT_ALREADY_ANSWERED instead).
      const { nodePath, requestId } = card.dataset;
      await api(`${runPath(v.runId)}/input`, {
        method: 'POST',
        headers: { 'Idempotency-Key': newKey() },
        body: JSON.stringify({ input: { [nodePath]: value }, ...(requestId ? { requestIds: { [nodePath]: requestId } } : {}) }),
      });
      if (!card.classList.contains('answered')) card.querySelector('.decision').textContent = 'Answer sent; the run continues…';
    } catch (e) {
      buttons.forEach((b) => { b.disabled = false; });
      card.querySelector('.decision').textContent = '';
      error.textContent = `Your answer was not accepted: ${e.message}`;
      error.hidden = false;
    }
  }

  function markAnswered(v, requestId, value) {
    const card = v.approvals.get(requestId);
    if (!card) return;
    card.classList.add('answered');
    card.querySelector('.answer-form').remove();
    const approved = value && value.approved;
    card.querySelector('.decision').textContent =
      `${approved ? 'Approved' : 'Rejected'}${value && value.note ? ` (note: ${value.note})` : ''}`;
    card.querySelector('.error').hidden = true;
    setStatus(v, 'active');
  }

  // ---------- checkpoint timeline ----------
  function scheduleTimeline(v, now) {
    if (v !== view) return;
    clearTimeout(v.timelineTimer);
    v.timelineTimer = setTimeout(() => refreshTimeline(v), now ? 0 : 300);
  }

  async function refreshTimeline(v) {
    let body;
    try {
      body = await api(`${runPath(v.runId)}/checkpoints`);
    } catch {
      return;
    }
    if (v !== view) return;
    const checkpoints = [...(body.checkpoints || [])].sort((a, b) => a.seq - b.seq);
    const items = checkpoints.map((cp, i) => {
      const latest = i === checkpoints.length - 1;
      const what =
        cp.status === 'pending_input' ? 'waiting for approval'
          : cp.status === 'completed' ? 'completed'
            : cp.status === 'failed' ? 'failed'
              : v.labels.get(cp.id) || (cp.pendingInputs && cp.pendingInputs.length ? 'approval requested' : 'saved');
      const label = `#${cp.seq} ${what}`;
      const when = el('span', { class: 'when', text: `${time(cp.createdAt)}${latest ? ' · latest' : ''}` });
      const item = el('li', { class: `status-${cp.status}`, 'data-checkpoint-id': cp.id });
      if (latest && cp.status !== 'failed') {
        // The head is where the run is: resuming it would fork nothing.
        item.append(el('div', { class: 'checkpoint current' }, el('span', { class: 'seq', text: label }), when));
        return item;
      }
      const action = latest ? 'Retry from' : 'Fork from';
      item.append(el('button', {
        type: 'button',
        class: 'checkpoint',
        'aria-label': `${action} checkpoint #${cp.seq}: ${what}`,
        title: `${action} this checkpoint`,
        onclick: () => forkFrom(v, cp),
      }, el('span', { class: 'seq', text: label }), when));
      return item;
    });
    els.timeline.replaceChildren(...(items.length ? items : [el('li', { class: 'empty', text: 'No checkpoint yet.' })]));
  }

  async function forkFrom(v, checkpoint) {
    try {
      const body = await api(`${runPath(v.runId)}/resume`, { method: 'POST', body: JSON.stringify({ checkpointId: checkpoint.id }) });
      const next = body && body.runId;
      if (next && next !== v.runId) openRun(next, { forkedFromRun: v.runId, fresh: true });
      else addNotice(v, `Resumed from checkpoint #${checkpoint.seq}.`, 'resume');
    } catch (error) {
      const reason = error.code === 'RUN_LOCKED' ? 'the run is live right now; wait for it to pause or finish' : error.message;
      addNotice(v, `Could not resume from checkpoint #${checkpoint.seq}: ${reason}`, 'error');
    }
  }

  // ---------- waiting for you ----------
  let waitingBusy = false;
  async function refreshWaiting() {
    if (waitingBusy) return;
    waitingBusy = true;
    try {
      const body = await api(`/runs?status=pending_input&limit=50`);
      const runs = body.runs || [];
      const items = runs.map((run) => {
        const pending = (run.pendingInputs || [])[0] || {};
        const [question, ...rest] = String(pending.prompt || 'Waiting for input').split('\n\n');
        const excerpt = rest.join(' ').slice(0, 90);
        const button = el('button', { type: 'button', class: 'waiting-run', onclick: () => openRun(run.runId) },
          el('span', { class: 'question', text: `${question} · run ${short(run.runId)}` }),
          el('span', { class: 'excerpt', text: excerpt ? `${excerpt}${rest.join(' ').length > 90 ? '…' : ''}` : '' }),
          el('span', { class: 'when', text: time(run.updatedAt || pending.requestedAt) }));
        return el('li', { 'data-run-id': run.runId }, button);
      });
      els.waiting.replaceChildren(...(items.length ? items : [el('li', { class: 'empty', text: 'Nothing is waiting for you.' })]));
      markWaitingCurrent();
    } catch (error) {
      els.waiting.replaceChildren(el('li', { class: 'empty error', text: `Could not load waiting runs: ${error.message}` }));
    } finally {
      waitingBusy = false;
    }
  }
  function markWaitingCurrent() {
    for (const item of els.waiting.querySelectorAll('li[data-run-id]')) {
      const current = view && item.dataset.runId === view.runId;
      item.classList.toggle('current', Boolean(current));
      const button = item.querySelector('button');
      if (button) {
        if (current) button.setAttribute('aria-current', 'true');
        else button.removeAttribute('aria-current');
      }
    }
  }

  // ---------- start ----------
  els.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const topic = els.topic.value.trim();
    if (!topic) return;
    els.start.disabled = true;
    els.startError.hidden = true;
    try {
      const body = await api('/runs', { method: 'POST', body: JSON.stringify({ workflow: workflowName, input: { topic } }) });
      els.topic.value = '';
      openRun(body.runId, { fresh: true });
    } catch (error) {
      els.startError.textContent = `Could not start the run: ${error.message}`;
      els.startError.hidden = false;
    } finally {
      els.start.disabled = false;
    }
  });
  els.refreshWaiting.addEventListener('click', () => refreshWaiting());
  window.addEventListener('popstate', () => {
    const runId = new URLSearchParams(location.search).get('run');
    if (runId) openRun(runId, { push: false });
    else {
      closeView();
      view = null;
      els.log.replaceChildren();
      els.timeline.replaceChildren();
      els.runLink.hidden = true;
      els.status.textContent = 'Start a run: give the agent a topic.';
      delete els.status.dataset.status;
    }
  });

  api('/demo-config.json').then(
    (config) => {
      workflowName = config.workflow || workflowName;
      els.model.textContent = `Model: ${config.model}${transport === 'ws' ? ' · events over WebSocket' : ' · events over SSE'}`;
    },
    () => {},
  );
  const initial = params.get('run');
  if (initial) openRun(initial, { push: false });
  refreshWaiting();
  setInterval(() => {
    if (document.visibilityState === 'visible') refreshWaiting();
  }, 3000);
})();
