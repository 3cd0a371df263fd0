// The viewer page: py_trees_js draws the tree; this file feeds it frames from the server's
// WebSocket and runs the panels, the timeline controls and the transitions table.
// py_trees_js refers to these two by name: they must be globals.
var canvas_graph = py_trees.canvas.create_graph()
var canvas_paper = py_trees.canvas.create_paper({graph: canvas_graph})

var viewer = (function() {
  "use strict"
  const PLAY_PERIOD_MS = 100
  const $ = (id) => document.getElementById(id)
  const state = {
    mode: null, first: 0, last: -1, shown: null, following: true, playing: null,
    wanted: null, inFlight: false, filter: "", trials: [], view: null, socket: null,
    retryMs: 250, transitionsAsked: 0,
  }

  // -------------------------------------------------------------------- drawing

  function draw(frame) {
    // py_trees_js' own canvas update (not exported), step by step
    canvas_paper.freeze()
    const added = py_trees.canvas.update_graph({graph: canvas_graph, tree: frame.tree})
    if (added && added.length) {
      py_trees.canvas.layout_graph({graph: canvas_graph})
      for (const cell of added) {
        const view = canvas_paper.findViewByModel(cell)
        if (view && view.updateBox) {
          view.listenTo(canvas_paper, "translate", view.updateBox)
          view.listenTo(canvas_paper, "scale", view.updateBox)
        }
      }
      canvas_paper.updateViews()
    }
    if (canvas_graph.get("scale_content_to_fit")) {
      py_trees.canvas.scale_content_to_fit(canvas_paper)
    }
    canvas_paper.unfreeze()
    state.shown = frame.index
    document.body.dataset.frame = frame.index
    drawBlackboard(frame.blackboard)
    drawStatistics(frame)
    drawTrialView(frame.trial_view)
    updateTimeline()
    askTransitions()
  }

  function cell(text, className) {
    const td = document.createElement("td")
    td.textContent = text
    if (className) td.className = className
    return td
  }

  function drawBlackboard(entries) {
    const body = $("blackboard").tBodies[0]
    body.replaceChildren(...entries.map(([key, value]) => {
      const tr = document.createElement("tr")
      tr.append(cell(key), cell(value))
      return tr
    }))
  }

  function drawStatistics(frame) {
    const s = frame.statistics
    const f = (x) => x.toFixed(1)
    $("statistics").textContent =
      `${frame.tree_name} · tick ${s.count} · duration ${s.duration.toFixed(2)} / ` +
      `${s.duration_mean.toFixed(2)} ± ${s.duration_std.toFixed(2)} ms · interval ` +
      `${f(s.interval)} / ${f(s.interval_mean)} ± ${f(s.interval_std)} ms`
  }

  function drawTrialView(view) {
    if (view === state.view) return
    state.view = view
    const img = $("trial-view")
    if (view === null) img.removeAttribute("src")
    else img.src = `/trial_view/${view}.jpg`
  }

  function updateTimeline() {
    const slider = $("slider")
    slider.min = state.first
    slider.max = Math.max(state.first, state.last)
    if (state.shown !== null) slider.value = state.shown
    const at = state.shown === null ? "-" : state.shown
    $("position").textContent = `snapshot ${at} of ${state.first}..${state.last}`
    $("live").classList.toggle("on", state.mode === "live" && state.following)
    $("play").textContent = state.playing ? "pause" : "play"
  }

  function setConnection(text, level) {
    const el = $("connection")
    el.textContent = text
    el.className = `state ${level}`
  }

  function showPublishers(count) {
    if (state.mode !== "live") return
    if (count > 0) setConnection("tree node connected", "ok")
    else setConnection("waiting for the tree node", "waiting")
  }

  // -------------------------------------------------------------------- transitions & trials

  function askTransitions() {
    // while following a live tree, at most once a second
    const now = Date.now()
    if (state.following && state.mode === "live" && now - state.transitionsAsked < 1000) return
    state.transitionsAsked = now
    send({op: "transitions", name: state.filter || null,
          around: state.following && state.mode === "live" ? null : state.shown})
  }

  function drawTransitions(rows) {
    const body = $("transitions").tBodies[0]
    let anchor = null  // the first row at or after the shown snapshot
    body.replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr")
      const name = cell(row.name)
      name.title = row.path
      tr.append(cell(`#${row.frame}`), cell(row.stamp.toFixed(2)), name,
                cell(row.from, row.from), cell("→ " + row.to, row.to),
                cell(row.message, "message"))
      tr.onclick = () => goTo(row.frame)
      if (row.frame === state.shown) tr.classList.add("current")
      if (anchor === null && row.frame >= state.shown) anchor = tr
      return tr
    }))
    const scroll = body.closest(".scroll")
    scroll.scrollTop = anchor ? anchor.offsetTop - scroll.clientHeight / 3 : scroll.scrollHeight
  }

  function setNames(names) {
    const select = $("filter")
    const chosen = select.value
    select.replaceChildren(select.options[0], ...names.map((name) => new Option(name, name)))
    select.value = names.includes(chosen) ? chosen : ""
  }

  function addTrial(trial) {
    state.trials.push(trial)
    const label = `#${trial.number + 1} ${trial.arm} ${trial.outcome}` +
      (trial.score === null ? "" : ` (score ${trial.score.toFixed(2)})`)
    const option = new Option(label, String(trial.number))
    option.className = trial.outcome === "success" ? "SUCCESS" : "FAILURE"
    $("trials").append(option)
  }

  // -------------------------------------------------------------------- navigation

  function goTo(index) {
    state.following = false
    request(Math.max(state.first, Math.min(state.last, index)))
  }

  function request(index) {
    // one request in flight; a slider drag asks only for where it ends up
    state.wanted = index
    if (state.inFlight) return
    state.inFlight = true
    send({op: "get", index: index})
  }

  function follow() {
    state.following = true
    stop()
    if (state.last >= state.first) request(state.last)
  }

  function play() {
    if (state.playing) return stop()
    if (state.shown === null || state.shown >= state.last) goTo(state.first)
    state.following = false
    state.playing = setInterval(() => {
      if (state.inFlight) return
      if (state.shown >= state.last) return stop()
      request(state.shown + 1)
    }, PLAY_PERIOD_MS)
    updateTimeline()
  }

  function stop() {
    clearInterval(state.playing)
    state.playing = null
    updateTimeline()
  }

  function step(delta) {
    stop()
    goTo((state.shown === null ? state.last : state.shown) + delta)
  }

  // -------------------------------------------------------------------- the socket

  function send(message) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(message))
    }
  }

  function onMessage(event) {
    const m = JSON.parse(event.data)
    switch (m.type) {
      case "hello":
        state.mode = m.mode
        state.first = m.first
        state.last = m.last
        state.inFlight = false
        $("mode").textContent = m.mode
        $("source").textContent = m.source
        document.title = `${m.source} - supersize_grasp viewer`
        state.trials = []
        $("trials").replaceChildren($("trials").options[0])
        m.trials.forEach(addTrial)
        setNames(m.names)
        if (m.mode === "replay") {
          setConnection("replay", "ok")
          state.following = false
          request(state.shown === null ? m.first : state.shown)
        } else {
          // a (re)started viewer has a timeline of its own: follow its newest snapshot
          state.following = true
          showPublishers(m.publishers)
          if (m.last >= m.first) request(m.last)
        }
        updateTimeline()
        break
      case "frame":
        state.first = m.first
        state.last = Math.max(state.last, m.frame.index)
        if (m.pushed) {
          if (m.frame.transitions.length) {
            const known = new Set(Array.from($("filter").options, (o) => o.value))
            const fresh = m.frame.transitions.map((t) => t.name).filter((n) => !known.has(n))
            if (fresh.length) setNames([...known, ...fresh].filter((n) => n).sort())
          }
          if (state.following) draw(m.frame)
          else updateTimeline()
          break
        }
        state.inFlight = false
        if (m.frame.index !== state.wanted) request(state.wanted)
        else if (!(state.following && state.shown !== null && state.shown > m.frame.index)) {
          draw(m.frame)  // unless a newer pushed one is already shown
        }
        break
      case "transitions":
        if ((m.name || "") === state.filter) drawTransitions(m.rows)
        break
      case "trial":
        addTrial(m.trial)
        break
      case "source":
        showPublishers(m.publishers)
        break
      case "error":
        state.inFlight = false
        console.warn("viewer:", m.message)
        break
    }
  }

  function connect() {
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`)
    state.socket = socket
    socket.onopen = () => { state.retryMs = 250 }
    socket.onmessage = onMessage
    socket.onclose = () => {
      // the viewer restarted or the tunnel dropped: try again, backing off to 5 s
      setConnection("reconnecting", "down")
      state.inFlight = false
      setTimeout(connect, state.retryMs)
      state.retryMs = Math.min(5000, state.retryMs * 2)
    }
  }

  // -------------------------------------------------------------------- controls

  $("back").onclick = () => step(-1)
  $("forward").onclick = () => step(+1)
  $("play").onclick = play
  $("live").onclick = follow
  $("slider").oninput = (event) => {
    const index = Number(event.target.value)  // before stop() puts the slider back
    stop()
    goTo(index)
  }
  $("filter").onchange = (event) => { state.filter = event.target.value; askTransitions() }
  $("trials").onchange = (event) => {
    const trial = state.trials[Number(event.target.value)]
    if (trial && trial.frame !== null) { stop(); goTo(trial.frame) }
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "SELECT" || event.target.tagName === "INPUT") return
    if (event.key === "ArrowLeft") step(-1)
    else if (event.key === "ArrowRight") step(+1)
    else if (event.key === " ") { event.preventDefault(); play() }
  })
  window.addEventListener("resize", () => py_trees.canvas.on_window_resize(canvas_paper))
  connect()
  return state
})()
