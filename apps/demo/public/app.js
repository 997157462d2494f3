// The Savepoint demo page: plain JavaScript, no build step. It talks to the runtime bridge only:
// POST /runs, GET /runs?status=pending_input, GET /runs/:id, POST /runs/:id/input, POST /runs/:id/resume,
// GET /runs/:id/checkpoints and the run's event stream (SSE by default, WebSocket with ?transport=ws); and the
// demo server's /waiting-events, which says when the "Waiting for you" list may have changed.
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
    timeline: $('timeline'),
    approvalTemplate: $('approval-template'),
    forkDialog: $('fork-dialog'),
    forkTitle: $('fork-title'),
    forkHint: $('fork-hint'),
    forkPreview: $('fork-preview'),
    forkConfirm: $('fork-confirm'),
    forkCancel: $('fork-cancel'),
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
  /** Shows the newest entry, unless the reader scrolled up to read something (then the log stays put). */
  function scrollLog(c) {
    if (c.follow) c.log.scrollTop = c.log.scrollHeight;
  }
  function topicText(input) {
    if (input && typeof input === 'object' && typeof input.topic === 'string') return input.topic;
    return typeof input === 'string' ? input : JSON.stringify(input);
  }

  // ---------- the open run ----------
  /** `outcome: 'rejected'`: a run that completed without your approval is not shown as a success. */
  function setStatus(v, status, { detail, outcome } = {}) {
    if (v !== view) return;
    v.status = status;
    const text = STATUS_TEXT[status] || status;
    els.status.textContent = `Run ${short(v.runId)}: ${text}${detail ? ` (${detail})` : ''}`;
    els.status.dataset.status = status;
    if (outcome) els.status.dataset.outcome = outcome;
    else delete els.status.dataset.outcome;
  }

  function openRun(runId, { push = true, forkedFromRun, fresh = false } = {}) {
    closeView();
    if (push) history.pushState({ runId }, '', pageUrl(runId));
    els.log.replaceChildren();
    view = {
      runId,
      lastSeq: -1,
      closed: false,
      source: null,
      conversation: conversation(els.log, { runId, interactive: true, forkedFromRun }),
      /** Every event seen, in order: the fork dialog replays them up to the fork point. */
      envelopes: [],
      labels: new Map(),
      since: 'run started',
      timelineTimer: null,
      status: 'loading',
    };
    els.timeline.replaceChildren();
    els.status.textContent = `Run ${short(runId)}: loading…`;
    els.status.dataset.status = 'loading';
    delete els.status.dataset.outcome;
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
        } else addNotice(v.conversation, `Could not load the run: ${error.message}`, 'error');
      },
    );
    subscribe(v);
    refreshTimeline(v);
    markWaitingCurrent();
  }

  function closeView() {
    if (!view) return;
    if (els.forkDialog.open) els.forkDialog.close('cancel');
    view.closed = true;
    view.conversation.detached = true; // a late answer or error of this run must not write into the next one
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
        else addNotice(v.conversation, `Stream error: ${message.message || message.code}`, 'error');
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

  /** An event of the open run: the conversation shows it; the status, timeline and waiting list follow it. */
  function handle(v, envelope) {
    if (v !== view || v.closed || !envelope || typeof envelope.type !== 'string') return;
    if (envelope.runId && envelope.runId !== v.runId) return;
    if (typeof envelope.seq === 'number') {
      if (envelope.seq <= v.lastSeq) return; // a replayed duplicate
      v.lastSeq = envelope.seq;
    }
    v.envelopes.push(envelope);
    const c = v.conversation;
    render(c, envelope);
    const data = envelope.data || {};
    switch (envelope.type) {
      case 'run_started':
        setStatus(v, 'active');
        break;
      case 'checkpoint_resumed':
        v.since = data.forkedFrom ? 'forked' : 'resumed';
        break;
      case 'stream_chunk':
        v.since = `answer (LLM call ${data.loop ?? '?'})`;
        break;
      case 'tool_result':
        v.since = `${data.tool || 'tool'} result`;
        break;
      case 'approval_requested':
        // The question is stored as pending from this event on; `run_paused` only comes when the live wait ends
        // (hitlTimeoutMs later), so waiting for it would show "running" while the card asks for an answer.
        setStatus(v, 'pending_input');
        v.since = 'approval requested';
        break;
      case 'approval_received':
        setStatus(v, 'active');
        v.since = data.value && data.value.approved ? 'approved' : 'rejected';
        break;
      case 'node_completed':
        v.since = `${envelope.nodeId || 'step'} finished`;
        break;
      case 'checkpoint_created':
        v.labels.set(data.checkpointId, v.since);
        v.since = 'progress saved';
        scheduleTimeline(v);
        break;
      case 'run_paused':
        setStatus(v, 'pending_input');
        break;
      case 'run_completed':
        setStatus(v, 'completed', c.decision === 'rejected' ? { detail: 'you rejected the answer', outcome: 'rejected' } : {});
        end(v);
        break;
      case 'run_failed':
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

  // ---------- conversation ----------
  /**
   * What a log shows: the open run's (`interactive`: its approval cards can be answered) or a fork's preview.
   * `follow`: the log shows its newest entry until the reader scrolls up.
   */
  function conversation(log, { runId, interactive, forkedFromRun } = {}) {
    const c = {
      log, runId, interactive, forkedFromRun, follow: true, detached: false,
      bubbles: new Map(), approvals: new Map(), shownInput: false, streamingBubble: null, lastBubble: null, decision: null,
    };
    log.onscroll = () => {
      c.follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
    };
    return c;
  }

  /** Draws one event of a run into a conversation. */
  function render(c, envelope) {
    const data = envelope.data || {};
    if (envelope.type !== 'stream_chunk') settleBubble(c);
    switch (envelope.type) {
      case 'run_started':
        if (!c.shownInput) {
          c.shownInput = true;
          addUser(c, topicText(data.input));
        }
        break;
      case 'checkpoint_resumed':
        if (data.forkedFrom) {
          addNotice(c, `Forked from checkpoint #${data.seq}: a new run that starts from that saved state.`, 'fork', c.forkedFromRun);
        } else {
          addNotice(c, `Resumed from checkpoint #${data.seq}: finished steps are not run again.`, 'resume');
        }
        break;
      case 'stream_chunk':
        appendToken(c, data);
        break;
      case 'tool_result':
        addTool(c, data);
        break;
      case 'approval_requested':
        showApproval(c, data);
        break;
      case 'approval_received':
        markAnswered(c, data.requestId || data.nodePath, data.value);
        break;
      case 'node_failed':
        addNotice(c, `Step ${envelope.nodeId || data.nodeId || ''} failed: ${(data.error && data.error.message) || 'unknown error'}`, 'error');
        break;
      case 'run_completed':
        finishAnswer(c, data.output);
        break;
      case 'run_failed':
        addNotice(c, `The run failed: ${(data.error && data.error.message) || 'unknown error'}. Pick a checkpoint to retry from it.`, 'error');
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
  }

  function addEntry(c, node) {
    if (c.detached) return node;
    c.log.append(node);
    scrollLog(c);
    return node;
  }
  /** The request opens the conversation, also in a fork (whose log starts with the fork notice). */
  function addUser(c, text) {
    if (c.detached) return;
    c.log.prepend(el('li', { class: 'entry user' }, el('p', { class: 'who', text: 'You' }), el('p', { class: 'text', text: `Research: ${text}` })));
  }
  function addNotice(c, text, kind, linkRun) {
    const node = el('li', { class: `entry notice ${kind || ''}` }, el('span', { text }));
    if (linkRun) node.append(' ', el('a', { href: pageUrl(linkRun), text: `Back to run ${short(linkRun)}` }));
    addEntry(c, node);
  }
  function appendToken(c, data) {
    const key = `${data.nodePath || 'agent'}#${data.loop ?? 0}`;
    let bubble = c.bubbles.get(key);
    if (!bubble) {
      const text = el('p', { class: 'text' });
      bubble = el('li', { class: 'entry assistant', 'data-chunks': '0' }, el('p', { class: 'who', text: 'Agent' }), text);
      bubble.textNode = text;
      c.bubbles.set(key, bubble);
      c.lastBubble = bubble;
      addEntry(c, bubble);
    }
    if (c.streamingBubble !== bubble) {
      settleBubble(c);
      c.streamingBubble = bubble;
      bubble.classList.add('streaming');
      bubble.setAttribute('aria-busy', 'true');
    }
    bubble.textNode.append(document.createTextNode(String(data.delta ?? '')));
    bubble.dataset.chunks = String(Number(bubble.dataset.chunks) + 1);
    scrollLog(c);
  }
  /** The streamed answer is over (the next event is something else): no cursor, and readers may announce it. */
  function settleBubble(c) {
    const bubble = c.streamingBubble;
    if (!bubble) return;
    c.streamingBubble = null;
    bubble.classList.remove('streaming');
    bubble.removeAttribute('aria-busy');
  }
  function finishAnswer(c, output) {
    // A model that did not stream its final answer: show the output itself.
    const last = c.lastBubble && c.lastBubble.textNode.textContent.trim();
    if (typeof output === 'string' && output.trim() && last !== output.trim()) {
      addEntry(c, el('li', { class: 'entry assistant' }, el('p', { class: 'who', text: 'Agent' }), el('p', { class: 'text', text: output })));
    }
    // The run ended normally, but without your approval it is not a success: it says so, in its own style.
    if (c.decision === 'rejected') addNotice(c, 'Run completed without your approval: the answer was not published.', 'done rejected');
    else addNotice(c, 'Run completed.', 'done');
  }
  function addTool(c, data) {
    const result = data.result || {};
    const findings = Array.isArray(result.findings) ? result.findings : [];
    const query = (data.arguments && data.arguments.query) || result.query || '';
    const list = el('ul', { class: 'findings' }, ...findings.map((f) => el('li', { text: f })));
    addEntry(c, el('li', { class: 'entry tool' }, el('p', { class: 'who', text: `Tool: ${data.tool || 'search'}("${query}")` }), list));
  }

  // Cards are keyed by the question's requestId: a question re-asked after a resume keeps its id (and its card);
  // a new question at the same nodePath (an agent's next approval) gets a new id and a card of its own.
  function showApproval(c, data) {
    const nodePath = data.nodePath;
    const requestId = data.requestId || nodePath;
    let card = c.approvals.get(requestId);
    if (card) return; // re-asked after a resume: the card is already there
    card = els.approvalTemplate.content.firstElementChild.cloneNode(true);
    const [first, ...rest] = String(data.prompt || 'Approve?').split('\n\n');
    card.querySelector('.prompt').textContent = first;
    const draft = card.querySelector('.draft');
    if (rest.length) draft.textContent = rest.join('\n\n');
    else draft.remove();
    card.dataset.nodePath = nodePath;
    if (data.requestId) card.dataset.requestId = data.requestId;
    if (c.interactive) {
      card.querySelector('.approve').addEventListener('click', () => sendAnswer(c, card, true));
      card.querySelector('.reject').addEventListener('click', () => sendAnswer(c, card, false));
    } else {
      card.querySelector('.answer-form').remove();
      card.querySelector('.decision').textContent = 'Waiting for an answer: the fork asks it again.';
    }
    c.approvals.set(requestId, card);
    addEntry(c, card);
  }

  async function sendAnswer(c, card, approved) {
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
      await api(`${runPath(c.runId)}/input`, {
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

  function markAnswered(c, requestId, value) {
    const approved = Boolean(value && value.approved);
    c.decision = approved ? 'approved' : 'rejected';
    const card = c.approvals.get(requestId);
    if (!card) return;
    card.classList.add('answered', c.decision);
    card.dataset.decision = c.decision;
    const form = card.querySelector('.answer-form');
    if (form) form.remove();
    const note = value && value.note ? ` (note: ${value.note})` : '';
    card.querySelector('.decision').textContent = approved ? `Approved${note}` : `Rejected: not published${note}`;
    card.querySelector('.error').hidden = true;
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
        onclick: () => confirmFork(v, cp, { action, what }),
      }, el('span', { class: 'seq', text: label }), when));
      return item;
    });
    els.timeline.replaceChildren(...(items.length ? items : [el('li', { class: 'empty', text: 'No checkpoint yet.' })]));
  }

  // ---------- fork confirmation ----------
  /**
   * The events of the run up to a checkpoint: everything logged until it was created, plus the questions it
   * waits for (their `approval_requested` is emitted just after the checkpoint that lists them).
   */
  function eventsUpTo(v, checkpoint) {
    const created = v.envelopes.find((e) => e.type === 'checkpoint_created' && e.data && e.data.checkpointId === checkpoint.id);
    if (!created) return null;
    const asked = new Set((checkpoint.pendingInputs || []).map((p) => p.requestId));
    return v.envelopes.filter((e) => e.seq <= created.seq || (e.type === 'approval_requested' && e.data && asked.has(e.data.requestId)));
  }

  /** Forking is not undoable: show where the new run would start, and fork only on "Fork". */
  function confirmFork(v, checkpoint, { action, what }) {
    if (v !== view) return;
    const retry = action === 'Retry from';
    els.forkTitle.textContent = `${retry ? 'Retry' : 'Fork'} from checkpoint #${checkpoint.seq} (${what})?`;
    els.forkHint.textContent = retry
      ? 'The run continues from this saved state: the steps after it run again.'
      : 'A new run starts from this saved state, with the conversation below; this run stays as it is.';
    els.forkConfirm.textContent = retry ? 'Retry' : 'Fork';
    els.forkPreview.replaceChildren();
    const preview = conversation(els.forkPreview, { forkedFromRun: v.conversation.forkedFromRun });
    const events = eventsUpTo(v, checkpoint);
    if (events) {
      for (const envelope of events) render(preview, envelope);
      settleBubble(preview);
      addNotice(preview, `Checkpoint #${checkpoint.seq}: the ${retry ? 'retry' : 'fork'} starts here.`, 'fork');
    } else {
      addNotice(preview, 'This checkpoint is not in the events this page received, so its conversation cannot be shown.', 'error');
    }
    els.forkDialog.returnValue = '';
    els.forkDialog.onclose = () => {
      els.forkDialog.onclose = null;
      if (els.forkDialog.returnValue === 'confirm' && v === view) forkFrom(v, checkpoint);
    };
    els.forkDialog.showModal();
    els.forkPreview.scrollTop = els.forkPreview.scrollHeight;
  }
  els.forkConfirm.addEventListener('click', () => els.forkDialog.close('confirm'));
  els.forkCancel.addEventListener('click', () => els.forkDialog.close('cancel'));

  async function forkFrom(v, checkpoint) {
    try {
      const body = await api(`${runPath(v.runId)}/resume`, { method: 'POST', body: JSON.stringify({ checkpointId: checkpoint.id }) });
      const next = body && body.runId;
      if (next && next !== v.runId) openRun(next, { forkedFromRun: v.runId, fresh: true });
      else addNotice(v.conversation, `Resumed from checkpoint #${checkpoint.seq}.`, 'resume');
    } catch (error) {
      const reason = error.code === 'RUN_LOCKED' ? 'the run is live right now; wait for it to pause or finish' : error.message;
      addNotice(v.conversation, `Could not resume from checkpoint #${checkpoint.seq}: ${reason}`, 'error');
    }
  }

  // ---------- waiting for you ----------
  let waitingLoad = null;
  let waitingStale = false;
  /** Reloads the list; a change announced while a load is under way loads it once more afterwards. */
  function refreshWaiting() {
    if (waitingLoad) {
      waitingStale = true;
      return;
    }
    waitingLoad = loadWaiting().finally(() => {
      waitingLoad = null;
      if (waitingStale) {
        waitingStale = false;
        refreshWaiting();
      }
    });
  }
  async function loadWaiting() {
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
    }
  }
  /**
   * The list is about every run, also those other clients start, so the run's own stream cannot keep it current:
   * the demo server says when it may have changed, and the list reloads then (and after each reconnect).
   */
  function followWaiting(retries = 0) {
    const feed = new EventSource('/waiting-events');
    feed.onopen = () => {
      retries = 0;
      refreshWaiting();
    };
    feed.onmessage = () => refreshWaiting();
    feed.onerror = () => {
      // CONNECTING: the browser reconnects by itself. CLOSED: an HTTP error (a server without the feed, a proxy):
      // try again later rather than leave the list silently stale.
      if (feed.readyState !== EventSource.CLOSED) return;
      setTimeout(() => followWaiting(retries + 1), Math.min(1000 * 2 ** retries, 30_000));
    };
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
      delete els.status.dataset.outcome;
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
  followWaiting();
})();
