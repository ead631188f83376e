<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name></name>
    <message>
        <source>(no date)</source>
        <translation>（无日期）</translation>
    </message>
    <message>
        <source>By hour</source>
        <translation>按小时</translation>
    </message>
    <message>
        <source>By station</source>
        <extracomment>the bars, ±1 min (front) to ±5 min (behind)</extracomment>
        <translation>按车站</translation>
    </message>
    <message>
        <source>Departures</source>
        <translation>发车数</translation>
    </message>
    <message>
        <source>Early</source>
        <translation>早点</translation>
    </message>
    <message>
        <source>Follow now</source>
        <translation>跟随当前</translation>
    </message>
    <message>
        <source>Hour</source>
        <translation>小时</translation>
    </message>
    <message>
        <source>Keep the now line in view (N)</source>
        <translation>保持当前时刻线可见 (N)</translation>
    </message>
    <message>
        <source>Late</source>
        <translation>晚点</translation>
    </message>
    <message>
        <source>Late over 5 min</source>
        <translation>晚点超过 5 分钟</translation>
    </message>
    <message>
        <source>Now</source>
        <translation>当前</translation>
    </message>
    <message>
        <source>On time</source>
        <translation>正点</translation>
    </message>
    <message>
        <source>Planned, down</source>
        <translation>计划，下行</translation>
    </message>
    <message>
        <source>Planned, up</source>
        <translation>计划，上行</translation>
    </message>
    <message>
        <source>The whole day and line (Home)</source>
        <translation>全天、全线 (Home)</translation>
    </message>
    <message>
        <source>Train graph</source>
        <translation>运行图</translation>
    </message>
    <message>
        <source>Whole day</source>
        <translation>全天</translation>
    </message>
    <message>
        <source>Zoom in (Ctrl+wheel, +)</source>
        <translation>放大 (Ctrl+滚轮, +)</translation>
    </message>
    <message>
        <source>Zoom out (Ctrl+wheel, -)</source>
        <translation>缩小 (Ctrl+滚轮, -)</translation>
    </message>
    <message>
        <source>{0} departures: {1} within ±1 min, {2} within ±5 min</source>
        <translation>{0} 次发车：±1 分钟内 {1}，±5 分钟内 {2}</translation>
    </message>
    <message>
        <source>±{0} min</source>
        <translation>±{0} 分钟</translation>
    </message>
    <message>
        <source>normal</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>active, unacknowledged</source>
        <translation>报警中，未确认</translation>
    </message>
    <message>
        <source>active, acknowledged</source>
        <translation>报警中，已确认</translation>
    </message>
    <message>
        <source>cleared, unacknowledged</source>
        <translation>已恢复，未确认</translation>
    </message>
    <message>
        <source>shelved</source>
        <translation>已搁置</translation>
    </message>
    <message>
        <source>suppressed</source>
        <translation>已抑制</translation>
    </message>
    <message>
        <source>out of service</source>
        <translation>停用</translation>
    </message>
    <message>
        <source>critical</source>
        <translation>紧急</translation>
    </message>
    <message>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <source>medium</source>
        <translation>中</translation>
    </message>
    <message>
        <source>low</source>
        <translation>低</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>级别</translation>
    </message>
    <message>
        <source>Station</source>
        <translation>车站</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>报警内容</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Alarms</source>
        <translation>报警</translation>
    </message>
    <message>
        <source>catching up on today&apos;s alarms… %p%</source>
        <translation>正在读取今日报警… %p%</translation>
    </message>
    <message>
        <source>all priorities</source>
        <translation>全部级别</translation>
    </message>
    <message>
        <source>all stations</source>
        <translation>全部车站</translation>
    </message>
    <message>
        <source>all zones</source>
        <translation>全部联锁区</translation>
    </message>
    <message>
        <source>all states</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <source>unacknowledged</source>
        <translation>未确认</translation>
    </message>
    <message>
        <source>filter: device, text, code…</source>
        <translation>筛选：设备、内容、代码…</translation>
    </message>
    <message>
        <source>Acknowledge selected</source>
        <translation>确认所选</translation>
    </message>
    <message>
        <source>Shelve…</source>
        <translation>搁置…</translation>
    </message>
    <message>
        <source>hide the selected alarms for a while (they return)</source>
        <translation>暂时隐藏所选报警（到时自动恢复显示）</translation>
    </message>
    <message>
        <source>Silence horn</source>
        <translation>消音</translation>
    </message>
    <message>
        <source>Diagnostics</source>
        <translation>诊断</translation>
    </message>
    <message>
        <source>this workstation may not acknowledge alarms</source>
        <translation>本工作站无权确认报警</translation>
    </message>
    <message>
        <source>show shelved</source>
        <translation>显示已搁置</translation>
    </message>
    <message>
        <source>unacknowledged / shown, per priority</source>
        <translation>各级别 未确认数 / 显示数</translation>
    </message>
    <message>
        <source>FLOOD</source>
        <translation>报警泛滥</translation>
    </message>
    <message>
        <source>ALARM LIST STALE for {0} s: {1}</source>
        <translation>报警列表已 {0} 秒未更新：{1}</translation>
    </message>
    <message>
        <source>Acknowledging {0} alarm(s)</source>
        <translation>正在确认 {0} 条报警</translation>
    </message>
    <message>
        <source>Shelve alarms</source>
        <translation>搁置报警</translation>
    </message>
    <message>
        <source>Shelve {0} alarm(s) for minutes:</source>
        <translation>搁置 {0} 条报警，时长（分钟）：</translation>
    </message>
    <message>
        <source>Shelving {0} alarm(s) for {1} min</source>
        <translation>正在搁置 {0} 条报警 {1} 分钟</translation>
    </message>
    <message>
        <source>Show on schematic</source>
        <translation>在站场图上显示</translation>
    </message>
    <message>
        <source>Acknowledge</source>
        <translation>确认</translation>
    </message>
    <message>
        <source>Open in ISCS</source>
        <translation>在综合监控中打开</translation>
    </message>
    <message>
        <source>Diagnostics ({0})</source>
        <translation>诊断（{0}）</translation>
    </message>
    <message>
        <source>Alarm feed diagnostics</source>
        <translation>报警数据诊断</translation>
    </message>
    <message>
        <source>Topic {0} at offset {1} ({2}); records {3}, malformed {4}, duplicates {5}</source>
        <translation>主题 {0}，偏移 {1}（{2}）；记录 {3}，格式错误 {4}，重复 {5}</translation>
    </message>
    <message>
        <source>Command log</source>
        <translation>命令记录</translation>
    </message>
    <message>
        <source>Dispatcher</source>
        <translation>调度员</translation>
    </message>
    <message>
        <source>Operation</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Zone</source>
        <translation>联锁区</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>令牌</translation>
    </message>
    <message>
        <source>sending</source>
        <translation>发送中</translation>
    </message>
    <message>
        <source>joined: {0}</source>
        <translation>合并：{0}</translation>
    </message>
    <message>
        <source>an identical command was already sent; nothing sent again</source>
        <translation>相同命令已发出，未重复发送</translation>
    </message>
    <message>
        <source>exclusive</source>
        <translation>独占</translation>
    </message>
    <message>
        <source>shared</source>
        <translation>共享</translation>
    </message>
    <message>
        <source>authority unknown</source>
        <translation>控制权未知</translation>
    </message>
    <message>
        <source>exclusive · mine</source>
        <translation>独占 · 本席</translation>
    </message>
    <message>
        <source>exclusive · {0}</source>
        <translation>独占 · {0}</translation>
    </message>
    <message>
        <source>exclusive · free</source>
        <translation>独占 · 无人控制</translation>
    </message>
    <message>
        <source>Zone control</source>
        <translation>控制权</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>模式</translation>
    </message>
    <message>
        <source>Holder</source>
        <translation>控制者</translation>
    </message>
    <message>
        <source>Since</source>
        <translation>起始时间</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>申请</translation>
    </message>
    <message>
        <source>Take</source>
        <translation>接管控制权</translation>
    </message>
    <message>
        <source>Release</source>
        <translation>交出控制权</translation>
    </message>
    <message>
        <source>Request</source>
        <translation>申请控制权</translation>
    </message>
    <message>
        <source>Grant to requester</source>
        <translation>交给申请者</translation>
    </message>
    <message>
        <source>Force transfer…</source>
        <translation>强制转移…</translation>
    </message>
    <message>
        <source>Switch mode</source>
        <translation>切换模式</translation>
    </message>
    <message>
        <source>{0} refused: {1}</source>
        <translation>{0} 被拒绝：{1}</translation>
    </message>
    <message>
        <source>{0} failed: {1}</source>
        <extracomment>the device a click selected (shortcuts act on it), &quot;&quot; for none Exit status when no snapshot arrived in time. what the clock shows, each second (a replay shows its own time) stop, the normal aspect of most signals: a dim red lamp with a red rim a dark signal (lamp out): abnormal, a bright hollow ring The frame around the device a confirmation asks about, or that Find found (ui/highlight.py): white, bold, dashed, with corner ticks: no state looks like it. The thin dashed frame of the device a click selected (the keyboard&apos;s commands act on it). What a dispatcher has imposed on a device (switch locked, signal closed, train held): abnormal, so drawn with a shape of its own (padlock, cross, badge) as well as this colour, distinct from the alarm colours and the aspects. Families tried in order; the first one installed wins (CJK-capable ones first); a character the bundled subset lacks comes from the next family that has it. planned lines: thin and muted, down and up in two quiet hues actual lines by lateness (app/timetable/delays.py classify): on time quiet, early and late in two distinct colours, late beyond the severe threshold the loudest the now line how often the describer, the list and the countdowns move on a click this near a line (pixels) picks its trip a press that moves further than this (pixels) is a drag, not a click when this many trips finished since the base layer was painted, it is painted again (their numbers and delays then written; lines alone go into the kept base) the base layer is painted again this long after the last step of a zoom or a scroll the visible time window moved or changed its width follow now was turned on or off (a scroll by hand turns it off) the planned line&apos;s points (hit tests, labels, levels of detail) the actual runs: each lateness class and its first and last index in actual_points the lines at each level of detail (traingraph_lod.py), made when first drawn the lateness at its last actual event (None: no actual yet) the events a finished trip has (an arrival and a departure at each stop drawn) the usual speed of a line on the graph (km a second): its slope the trips under way: some actuals, not all (drawn live, over the base layer) the trips finished since the view last took them (it draws them into its base) a finished trip&apos;s lines changed, or went: the view paints its base again the trips whose actual lines the last :meth:`refresh` made again the PDF&apos;s resolution: 144 dpi, so that lines and texts keep the screen&apos;s proportions at 1.5 times a 96-dpi pixel a picture of the whole day is this wide (a window shown: the widget&apos;s size, x2) 2 s a pixel: finer than this a line is drawn whole 128 s a pixel: a day of 24 h on 675 pixels label cells taken (a coarse grid: a label is not written over another) the most trip numbers written in one frame (the rest would not be read anyway) The narrowest window: a quarter of an hour. The day shown when the timetable is empty. Room left before the first departure and after the last arrival. a window smaller than this (width, height) starts with smaller docks the docks&apos; sizes in a small window: the bottom ones&apos; height, the right ones&apos; width asks the dispatcher (title, question) -&gt; yes; a dialog unless a test gives one</extracomment>
        <translation>{0} 失败：{1}</translation>
    </message>
    <message>
        <source>Zone control: {0}</source>
        <translation>控制权：{0}</translation>
    </message>
    <message>
        <source>take {0}</source>
        <translation>接管 {0}</translation>
    </message>
    <message>
        <source>release {0}</source>
        <translation>交出 {0}</translation>
    </message>
    <message>
        <source>request {0}</source>
        <translation>申请 {0}</translation>
    </message>
    <message>
        <source>grant {0} to {1}</source>
        <translation>将 {0} 交给 {1}</translation>
    </message>
    <message>
        <source>Give {0} to (dispatcher@workstation; empty: nobody):</source>
        <translation>将 {0} 交给（调度员@工作站；留空：不交给任何人）：</translation>
    </message>
    <message>
        <source>Force transfer</source>
        <translation>强制转移</translation>
    </message>
    <message>
        <source>force {0} to {1}</source>
        <translation>强制将 {0} 转给 {1}</translation>
    </message>
    <message>
        <source>nobody</source>
        <translation>无人</translation>
    </message>
    <message>
        <source>make {0} {1}</source>
        <translation>将 {0} 设为{1}</translation>
    </message>
    <message>
        <source>exclusive · mine · asked for by {0}</source>
        <translation>独占 · 本席 · {0} 申请控制权</translation>
    </message>
    <message>
        <source>show station</source>
        <translation>显示车站</translation>
    </message>
    <message>
        <source>show device</source>
        <translation>显示设备</translation>
    </message>
    <message>
        <source>show alarm</source>
        <translation>显示报警</translation>
    </message>
    <message>
        <source>ISCS (reference program)</source>
        <translation>综合监控（参考程序）</translation>
    </message>
    <message>
        <source>waiting for a hand-off from the dispatcher workstation…</source>
        <translation>等待调度工作站转来的画面请求…</translation>
    </message>
    <message>
        <source>Received (newest first):</source>
        <translation>已收到（最新的在前）：</translation>
    </message>
    <message>
        <source>station</source>
        <translation>车站</translation>
    </message>
    <message>
        <source>device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>alarm</source>
        <translation>报警</translation>
    </message>
    <message>
        <source>from {0} at {1}</source>
        <translation>来自 {0}，{1}</translation>
    </message>
    <message>
        <source>&amp;Acknowledge selected</source>
        <translation>确认所选(&amp;A)</translation>
    </message>
    <message>
        <source>Acknowledge &amp;page</source>
        <translation>确认本页(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Silence horn</source>
        <translation>消音(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Next unacknowledged alarm</source>
        <translation>下一条未确认报警(&amp;N)</translation>
    </message>
    <message>
        <source>acknowledge the selected alarms</source>
        <translation>确认所选的报警</translation>
    </message>
    <message>
        <source>acknowledge the unacknowledged alarms on screen</source>
        <translation>确认屏幕上显示的未确认报警</translation>
    </message>
    <message>
        <source>stop the horn; the alarms stay unacknowledged</source>
        <translation>停止报警音响；报警仍为未确认</translation>
    </message>
    <message>
        <source>select the next unacknowledged alarm and show its device</source>
        <translation>选中下一条未确认报警并显示其设备</translation>
    </message>
    <message>
        <source>Acknowledge page</source>
        <translation>确认本页</translation>
    </message>
    <message>
        <source>Horn silenced: {0} unacknowledged alarm(s) remain</source>
        <translation>已消音：仍有 {0} 条未确认报警</translation>
    </message>
    <message>
        <source>The horn was not sounding: {0} unacknowledged alarm(s)</source>
        <translation>报警音响未在鸣响：{0} 条未确认报警</translation>
    </message>
    <message>
        <source>No unacknowledged alarm in the list</source>
        <translation>列表中没有未确认的报警</translation>
    </message>
    <message>
        <source>Priority first</source>
        <extracomment>The tag&apos;s side (scene units) and how far from the device&apos;s corner it sits. The reasons the order holds still.</extracomment>
        <translation>按级别排序</translation>
    </message>
    <message>
        <source>unacknowledged first, then by priority, then newest (the default order)</source>
        <translation>未确认在前，其次按级别，再按时间由新到旧（默认顺序）</translation>
    </message>
    <message>
        <source>the list holds its order while you work on it</source>
        <translation>操作期间列表保持顺序不变</translation>
    </message>
    <message>
        <source>{0} new: click to sort them in</source>
        <translation>{0} 条新报警：点击排入列表</translation>
    </message>
    <message>
        <source>horn quiet</source>
        <extracomment>stacking: above the devices and trains, below the &quot;no live data&quot; banner how far the frame stands off the device it marks (scene units) Platforms that never have a speaker, whatever the machine has.</extracomment>
        <translation>音响静默</translation>
    </message>
    <message>
        <source>horn: no audio device, flashes</source>
        <translation>音响：无音频设备，以闪烁提示</translation>
    </message>
    <message>
        <source>HORN priority {0}</source>
        <translation>报警音响 {0} 级</translation>
    </message>
    <message>
        <source>HORN priority {0} (no audio device: flashing)</source>
        <translation>报警音响 {0} 级（无音频设备：闪烁）</translation>
    </message>
    <message>
        <source>Withdraw request</source>
        <translation>撤回申请</translation>
    </message>
    <message>
        <source>You only asked for {0}: withdraw the request (you never held it)</source>
        <extracomment>a click selected a device (its id) or nothing (&quot;&quot;): the keyboard&apos;s commands act on it</extracomment>
        <translation>您只是申请了 {0}：撤回申请（您从未持有它）</translation>
    </message>
    <message>
        <source>Give up {0}: it becomes free, and the other desks are told</source>
        <translation>交出 {0}：它成为空闲，其他调度台会收到通知</translation>
    </message>
    <message>
        <source>withdraw the request for {0}</source>
        <translation>撤回对 {0} 的申请</translation>
    </message>
    <message>
        <source>Give zone {0} {1} to {2}?

You will no longer command its devices; {2} is told at once.</source>
        <translation>将联锁区 {0} {1} 交给 {2}？

您将不能再操作其设备；{2} 会立即收到通知。</translation>
    </message>
    <message>
        <source>Grant zone {0}</source>
        <translation>交出联锁区 {0}</translation>
    </message>
    <message>
        <source>Zone control: {0} kept</source>
        <translation>控制权：保留 {0}</translation>
    </message>
    <message>
        <source>Grant</source>
        <translation>交出</translation>
    </message>
    <message>
        <source>Keep it</source>
        <translation>保留</translation>
    </message>
    <message>
        <source>Delays</source>
        <translation>晚点</translation>
    </message>
    <message>
        <source>Punctuality</source>
        <translation>正点率</translation>
    </message>
    <message>
        <source>Trip {0} is not running now</source>
        <translation>车次 {0} 当前未运行</translation>
    </message>
    <message>
        <source>Export the train graph as PDF…</source>
        <translation>导出运行图为 PDF…</translation>
    </message>
    <message>
        <source>Export the train graph as PNG…</source>
        <translation>导出运行图为 PNG…</translation>
    </message>
    <message>
        <source>Not exported: {0}</source>
        <translation>未导出：{0}</translation>
    </message>
    <message>
        <source>Train graph exported to {0}</source>
        <translation>运行图已导出到 {0}</translation>
    </message>
    <message>
        <source>Export the train graph</source>
        <translation>导出运行图</translation>
    </message>
    <message>
        <source>No unacknowledged alarms</source>
        <translation>无未确认报警</translation>
    </message>
    <message>
        <source>by: {0}</source>
        <translation>操作人：{0}</translation>
    </message>
</context>
<context>
    <name>AlarmAnnunciation</name>
    <message>
        <source>ALARMS STALE {0} s</source>
        <translation>报警数据 {0} 秒未更新</translation>
    </message>
    <message>
        <source>Alarms live</source>
        <translation>报警实时</translation>
    </message>
    <message>
        <source>lag {0}</source>
        <translation>滞后 {0}</translation>
    </message>
    <message>
        <source>Alarms catching up {0}%</source>
        <translation>报警数据追赶中 {0}%</translation>
    </message>
    <message>
        <source>stale</source>
        <translation>已过时</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Alarms: {0}</source>
        <translation>报警：{0}</translation>
    </message>
    <message>
        <source>topic {0}, offset {1}, lag {2}, malformed {3}</source>
        <translation>主题 {0}，偏移 {1}，滞后 {2}，格式错误 {3}</translation>
    </message>
    <message>
        <source>replayed from the recording</source>
        <translation>回放记录</translation>
    </message>
</context>
<context>
    <name>AlarmFeed</name>
    <message>
        <source>looking for today&apos;s topic and its snapshot</source>
        <translation>正在查找当天的主题及其快照</translation>
    </message>
    <message>
        <source>the alarm broker cannot be reached</source>
        <translation>无法连接报警代理</translation>
    </message>
    <message>
        <source>the alarm broker does not answer</source>
        <translation>报警代理无应答</translation>
    </message>
    <message>
        <source>no alarm record came for too long</source>
        <translation>太久没有收到报警记录</translation>
    </message>
    <message>
        <source>the alarm feed could not start (see the log)</source>
        <translation>报警订阅无法启动（详见日志）</translation>
    </message>
    <message>
        <source>internal error (see the log)</source>
        <translation>内部错误（详见日志）</translation>
    </message>
</context>
<context>
    <name>AlarmKeys</name>
    <message>
        <source>&amp;Alarms</source>
        <translation>报警(&amp;A)</translation>
    </message>
</context>
<context>
    <name>CommandFlow</name>
    <message>
        <source>observer workstation: commands disabled</source>
        <translation>观察工作站：不能下达命令</translation>
    </message>
    <message>
        <source>no live data: commands disabled</source>
        <translation>无实时数据：不能下达命令</translation>
    </message>
    <message>
        <source>master unreachable: commands disabled</source>
        <translation>主服务器不可达：不能下达命令</translation>
    </message>
    <message>
        <source>zone control unavailable (Redis down): commands refused</source>
        <translation>控制权服务不可用（Redis 中断）：命令将被拒绝</translation>
    </message>
    <message>
        <source>Not sent: {0} {1}: {2}</source>
        <translation>未发送：{0} {1}：{2}</translation>
    </message>
    <message>
        <source>Cancelled: {0} {1}</source>
        <translation>已取消：{0} {1}</translation>
    </message>
    <message>
        <source>Sending: {0} {1} …</source>
        <translation>正在发送：{0} {1} …</translation>
    </message>
    <message>
        <source>Confirmed: {0} {1}</source>
        <translation>已确认：{0} {1}</translation>
    </message>
    <message>
        <source>{0} (selected device)</source>
        <translation>{0}（选中设备）</translation>
    </message>
    <message>
        <source>{0}: select a {1} on the schematic first (click it)</source>
        <translation>{0}：请先在站场图上选中{1}（单击它）</translation>
    </message>
    <message>
        <source>{0} {1}: nothing to do, it is so already</source>
        <extracomment>each row&apos;s place in the default order, held while a dispatcher works on the list the clock its rows are stamped by (a replay&apos;s clock in replay mode) a device as the dispatcher knows it (a train by its number); the command flow sets it The keys of the commands on the selected device (and shown in the context menus). the frame on the schematic around the device the open dialog asks about</extracomment>
        <translation>{0} {1}：无需操作，已是该状态</translation>
    </message>
</context>
<context>
    <name>Commands</name>
    <message>
        <source>Throw to normal</source>
        <translation>道岔定操（至定位）</translation>
    </message>
    <message>
        <source>Throw to reverse</source>
        <translation>道岔反操（至反位）</translation>
    </message>
    <message>
        <source>Set route</source>
        <translation>排列进路</translation>
    </message>
    <message>
        <source>Cancel route</source>
        <translation>取消进路</translation>
    </message>
    <message>
        <source>Lock switch (单锁)</source>
        <translation>道岔单锁</translation>
    </message>
    <message>
        <source>Unlock switch (单解)</source>
        <translation>道岔单解</translation>
    </message>
    <message>
        <source>Close signal (封闭)</source>
        <translation>信号机封闭</translation>
    </message>
    <message>
        <source>Reopen signal (解封)</source>
        <translation>信号机解封</translation>
    </message>
    <message>
        <source>Hold train (扣车)</source>
        <translation>扣车</translation>
    </message>
    <message>
        <source>Release train (放行)</source>
        <translation>放行</translation>
    </message>
    <message>
        <source>Couple (联挂)</source>
        <translation>联挂</translation>
    </message>
    <message>
        <source>Uncouple (解编)</source>
        <translation>解编</translation>
    </message>
    <message>
        <source>Inject fault (simulator)</source>
        <translation>注入故障（仿真）</translation>
    </message>
    <message>
        <source>Acknowledge alarm</source>
        <translation>确认报警</translation>
    </message>
    <message>
        <source>Shelve alarm</source>
        <translation>搁置报警</translation>
    </message>
    <message>
        <source>executed</source>
        <translation>已执行</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>被拒绝</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>{0} {1}: {2}</source>
        <translation>{0} {1}：{2}</translation>
    </message>
    <message>
        <source>outcome unknown</source>
        <translation>结果未知</translation>
    </message>
    <message>
        <source>switch</source>
        <translation>道岔</translation>
    </message>
    <message>
        <source>signal</source>
        <translation>信号机</translation>
    </message>
    <message>
        <source>route</source>
        <translation>进路</translation>
    </message>
    <message>
        <source>train</source>
        <translation>列车</translation>
    </message>
</context>
<context>
    <name>ConfirmCommandDialog</name>
    <message>
        <source>Confirm command</source>
        <extracomment>the device as the dispatcher knows it (&quot;train 0101&quot;, &quot;W0602&quot;); its id if &quot;&quot; what the interlocking will refuse, foreseen from the state shown (&quot;&quot; if nothing) the focus frame of the dialog&apos;s buttons: Enter presses the button that has it</extracomment>
        <translation>确认命令</translation>
    </message>
    <message>
        <source>{0} {1}: {2}?</source>
        <translation>{0} {1}：{2}？</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>设备：</translation>
    </message>
    <message>
        <source>Operation:</source>
        <translation>操作：</translation>
    </message>
    <message>
        <source>Control zone:</source>
        <translation>联锁区：</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>Details:</source>
        <translation>详情：</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Confirm: {0} {1}</source>
        <translation>确认：{0} {1}</translation>
    </message>
    <message>
        <source>Check the device and the operation on the schematic (framed) before confirming.</source>
        <translation>确认前请在站场图上（已框出）核对设备和操作。</translation>
    </message>
    <message>
        <source>Send anyway (will be refused): {0} {1}</source>
        <translation>仍然发送（将被拒绝）：{0} {1}</translation>
    </message>
    <message>
        <source>Expect a refusal: the server will refuse this: {0}.</source>
        <translation>预计被拒绝：服务器将拒绝此命令：{0}。</translation>
    </message>
</context>
<context>
    <name>Coupling</name>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>uncoupled</source>
        <translation>未联挂</translation>
    </message>
    <message>
        <source>coupling (联挂中)</source>
        <translation>联挂中</translation>
    </message>
    <message>
        <source>coupled (联挂)</source>
        <translation>已联挂</translation>
    </message>
    <message>
        <source>uncoupling (解编中)</source>
        <translation>解编中</translation>
    </message>
    <message>
        <source>TWO MASTERS (双主)</source>
        <translation>双主控</translation>
    </message>
    <message>
        <source>NO MASTER (无主)</source>
        <translation>无主控</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>master (主控)</source>
        <translation>主控</translation>
    </message>
    <message>
        <source>slave (从控)</source>
        <translation>从控</translation>
    </message>
    <message>
        <source>train {0}, in section {1}</source>
        <translation>列车 {0}，位于区段 {1}</translation>
    </message>
    <message>
        <source>consist {0}</source>
        <translation>编组 {0}</translation>
    </message>
    <message>
        <source>in a consist already</source>
        <translation>已在编组中</translation>
    </message>
    <message>
        <source>not a confirmed, stopped lone unit</source>
        <translation>不是已确认、停稳的单列车</translation>
    </message>
    <message>
        <source>not a confirmed, stopped consist</source>
        <translation>不是已确认、停稳的编组</translation>
    </message>
    <message>
        <source>{0}, in section {1}, with: no stopped lone unit seen end to end with it (the server will refuse unless one is there)</source>
        <translation>{0}，位于区段 {1}，联挂对象：未见与其首尾相接、已停稳的单列车组（若无，服务器将拒绝）</translation>
    </message>
    <message>
        <source>{0} (section {1}) with {2} (section {3})</source>
        <translation>{0}（区段 {1}）与 {2}（区段 {3}）</translation>
    </message>
</context>
<context>
    <name>CouplingDock</name>
    <message>
        <source>Coupling (联挂解编)</source>
        <translation>联挂解编</translation>
    </message>
    <message>
        <source>Consist / unit</source>
        <translation>编组 / 单元</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Cab</source>
        <translation>司机室</translation>
    </message>
    <message>
        <source>Since</source>
        <translation>起始时间</translation>
    </message>
    <message>
        <source>Last report</source>
        <translation>最近报告</translation>
    </message>
    <message>
        <source>units disagree</source>
        <translation>各单元报告不一致</translation>
    </message>
    <message>
        <source>unconfirmed</source>
        <translation>未确认</translation>
    </message>
    <message>
        <source>({0} {1}/{2})</source>
        <translation>（{0} {1}/{2}）</translation>
    </message>
    <message>
        <source>reports lost or not yet confirmed</source>
        <translation>报告丢失或尚未确认</translation>
    </message>
    <message>
        <source>Consist {0}</source>
        <translation>编组 {0}</translation>
    </message>
    <message>
        <source>master {0}</source>
        <translation>主控 {0}</translation>
    </message>
    <message>
        <source>{0} masters</source>
        <translation>{0} 个主控</translation>
    </message>
    <message>
        <source>{0}. unit {1} (#{2})</source>
        <translation>{0}. 单元 {1}（#{2}）</translation>
    </message>
    <message>
        <source>{0:.1f} s ago</source>
        <translation>{0:.1f} 秒前</translation>
    </message>
</context>
<context>
    <name>DelayList</name>
    <message>
        <source>Trip</source>
        <extracomment>the numeric value a column sorts by</extracomment>
        <translation>车次</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>车组</translation>
    </message>
    <message>
        <source>To</source>
        <translation>终点</translation>
    </message>
    <message>
        <source>Delay min</source>
        <translation>晚点（分）</translation>
    </message>
    <message>
        <source>Last at</source>
        <translation>最近到发</translation>
    </message>
    <message>
        <source>Departs in</source>
        <translation>距发车</translation>
    </message>
</context>
<context>
    <name>DeskLock</name>
    <message>
        <source>&amp;Lock the desk</source>
        <translation>锁定调度台(&amp;L)</translation>
    </message>
    <message>
        <source>Desk locked after {0:g} min without input</source>
        <translation>{0:g} 分钟无操作，调度台已锁定</translation>
    </message>
    <message>
        <source>Desk locked by {0}</source>
        <translation>{0} 锁定了调度台</translation>
    </message>
    <message>
        <source>Desk unlocked by {0}</source>
        <translation>{0} 解锁了调度台</translation>
    </message>
</context>
<context>
    <name>DeviceMenus</name>
    <message>
        <source>Switch {0}</source>
        <translation>道岔 {0}</translation>
    </message>
    <message>
        <source>Locked (单锁): unlock before throwing</source>
        <translation>已单锁：须先单解才能转换</translation>
    </message>
    <message>
        <source>Signal {0}</source>
        <translation>信号机 {0}</translation>
    </message>
    <message>
        <source>Set route</source>
        <translation>排列进路</translation>
    </message>
    <message>
        <source>Cancel route</source>
        <translation>取消进路</translation>
    </message>
    <message>
        <source>No routes start at this signal</source>
        <translation>没有以此信号机为始端的进路</translation>
    </message>
    <message>
        <source>Closed (封闭): reopen before setting a route</source>
        <translation>已封闭：须先解封才能排列进路</translation>
    </message>
    <message>
        <source>train {0}, in section {1}</source>
        <translation>列车 {0}，位于区段 {1}</translation>
    </message>
    <message>
        <source>This train is no longer reported</source>
        <translation>该列车已不再报告</translation>
    </message>
    <message>
        <source>Follow on the schematic</source>
        <translation>在站场图上跟踪</translation>
    </message>
    <message>
        <source>Station {0} {1}</source>
        <translation>车站 {0} {1}</translation>
    </message>
    <message>
        <source>Show in station detail</source>
        <translation>在车站详图中显示</translation>
    </message>
    <message>
        <source>Show this station&apos;s alarms</source>
        <translation>显示本站报警</translation>
    </message>
    <message>
        <source>N</source>
        <comment>switch normal</comment>
        <translation>定</translation>
    </message>
    <message>
        <source>R</source>
        <comment>switch reverse</comment>
        <translation>反</translation>
    </message>
    <message>
        <source>to {0}</source>
        <translation>至 {0}</translation>
    </message>
    <message>
        <source>from {0} to {1}; sections {2}</source>
        <translation>自 {0} 至 {1}；区段 {2}</translation>
    </message>
    <message>
        <source>switches {0}</source>
        <translation>道岔 {0}</translation>
    </message>
</context>
<context>
    <name>EventLogDock</name>
    <message>
        <source>Event log</source>
        <translation>事件记录</translation>
    </message>
</context>
<context>
    <name>FindDialog</name>
    <message>
        <source>Find</source>
        <extracomment>the clock its lines are stamped by (a replay&apos;s clock in replay mode) how long what was found stays framed, unless the dispatcher clicks the schematic first</extracomment>
        <translation>查找</translation>
    </message>
    <message>
        <source>Station, device or train number:</source>
        <translation>车站、设备或车次号：</translation>
    </message>
    <message>
        <source>Nothing called {0} on this line</source>
        <translation>本线路上没有 {0}</translation>
    </message>
</context>
<context>
    <name>Finder</name>
    <message>
        <source>&amp;Find…</source>
        <translation>查找(&amp;F)…</translation>
    </message>
    <message>
        <source>train</source>
        <extracomment>the frame around what was found</extracomment>
        <translation>列车</translation>
    </message>
    <message>
        <source>Nothing called {0} on this line</source>
        <translation>本线路上没有 {0}</translation>
    </message>
</context>
<context>
    <name>Header</name>
    <message>
        <source>Workstation {0} · {1} ({2})</source>
        <extracomment>narrower than this (logical pixels), the header is compact</extracomment>
        <translation>工作站 {0} · {1}（{2}）</translation>
    </message>
    <message>
        <source>dispatcher</source>
        <translation>调度员</translation>
    </message>
    <message>
        <source>supervisor</source>
        <translation>调度长</translation>
    </message>
    <message>
        <source>observer</source>
        <translation>观察员</translation>
    </message>
    <message>
        <source>no live data</source>
        <translation>无实时数据</translation>
    </message>
    <message>
        <source>Trains</source>
        <translation>列车</translation>
    </message>
    <message>
        <source>Routes</source>
        <translation>进路</translation>
    </message>
    <message>
        <source>Occupied</source>
        <translation>占用</translation>
    </message>
    <message>
        <source>Switches reverse</source>
        <translation>道岔反位</translation>
    </message>
    <message>
        <source>moving</source>
        <translation>转换中</translation>
    </message>
    <message>
        <source>lost</source>
        <translation>失表</translation>
    </message>
    <message>
        <source>Track faults</source>
        <translation>区段故障</translation>
    </message>
</context>
<context>
    <name>HealthAlarm</name>
    <message>
        <source>{0} lost on every network</source>
        <translation>{0} 在所有网络上均失去联系</translation>
    </message>
    <message>
        <source>{0} stepped down to standby</source>
        <translation>{0} 已降为备机</translation>
    </message>
    <message>
        <source>{1} has a higher epoch</source>
        <translation>{1} 的任期更高</translation>
    </message>
    <message>
        <source>Failover: master {0} → {1} (epoch {2}): {3}</source>
        <translation>主备切换：主服务器 {0} → {1}（任期 {2}）：{3}</translation>
    </message>
    <message>
        <source>No redundancy: master {0}, standby {1} unreachable</source>
        <translation>失去冗余：主服务器 {0}，备服务器 {1} 不可达</translation>
    </message>
    <message>
        <source>Network {0} down to every server ({1})</source>
        <translation>网络 {0} 到所有服务器均中断（{1}）</translation>
    </message>
    <message>
        <source>Master unreachable: showing standby {0}, commands refused</source>
        <translation>主服务器不可达：显示备服务器 {0} 的数据，命令将被拒绝</translation>
    </message>
    <message>
        <source>No server reachable ({0})</source>
        <translation>所有服务器均不可达（{0}）</translation>
    </message>
    <message>
        <source>{0} (epoch {1})</source>
        <translation>{0}（任期 {1}）</translation>
    </message>
    <message>
        <source>Dual master: {0} all claim master; following {1}</source>
        <translation>双主：{0} 都自称主服务器；跟随 {1}</translation>
    </message>
    <message>
        <source>Link integrity: {0}: {1} failures within {2} s (last: {3}); link resynchronised</source>
        <translation>链路完整性：{0}：{2} 秒内 {1} 次校验失败（最近一次：{3}）；链路已重新同步</translation>
    </message>
    <message>
        <source>Train {0} (unit {1}) {2} min late (alarm above {3} min)</source>
        <translation>车次 {0}（车组 {1}）晚点 {2} 分（超过 {3} 分报警）</translation>
    </message>
</context>
<context>
    <name>HelpMenu</name>
    <message>
        <source>&amp;Legend</source>
        <translation>图例(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>快捷键(&amp;K)</translation>
    </message>
    <message>
        <source>&amp;Diagnostics…</source>
        <translation>诊断信息(&amp;D)…</translation>
    </message>
    <message>
        <source>Zoom about the mouse</source>
        <translation>以鼠标为中心缩放</translation>
    </message>
    <message>
        <source>Wheel</source>
        <translation>滚轮</translation>
    </message>
    <message>
        <source>Pan</source>
        <translation>平移</translation>
    </message>
    <message>
        <source>Drag</source>
        <translation>拖动</translation>
    </message>
    <message>
        <source>Device, station or alarm menu</source>
        <translation>设备、车站或报警菜单</translation>
    </message>
    <message>
        <source>Right-click</source>
        <translation>右键单击</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>快捷键</translation>
    </message>
    <message>
        <source>Program: dispatcher-hmi {0}</source>
        <translation>程序：dispatcher-hmi {0}</translation>
    </message>
    <message>
        <source>Workstation file: {0}</source>
        <translation>工作站配置文件：{0}</translation>
    </message>
    <message>
        <source>Line: {0} {1} ({2})</source>
        <translation>线路：{0} {1}（{2}）</translation>
    </message>
    <message>
        <source>Resources: {0}</source>
        <translation>资源目录：{0}</translation>
    </message>
    <message>
        <source>Log file: {0}</source>
        <translation>日志文件：{0}</translation>
    </message>
    <message>
        <source>Logs and local data: {0}</source>
        <translation>日志和本地数据：{0}</translation>
    </message>
    <message>
        <source>Layout saved in: {0}</source>
        <translation>布局保存位置：{0}</translation>
    </message>
    <message>
        <source>ISCS program: {0}</source>
        <translation>综合监控程序：{0}</translation>
    </message>
    <message>
        <source>Diagnostics</source>
        <translation>诊断信息</translation>
    </message>
</context>
<context>
    <name>IscsActions</name>
    <message>
        <source>Open in ISCS</source>
        <translation>在综合监控中打开</translation>
    </message>
    <message>
        <source>show station</source>
        <translation>显示车站</translation>
    </message>
    <message>
        <source>show device</source>
        <translation>显示设备</translation>
    </message>
    <message>
        <source>show alarm</source>
        <translation>显示报警</translation>
    </message>
    <message>
        <source>ISCS: {0} {1}</source>
        <translation>综合监控：{0} {1}</translation>
    </message>
    <message>
        <source>ISCS not keeping up: an older {0} was replaced by a newer one</source>
        <translation>综合监控响应不及：较早的“{0}”请求已被新请求替代</translation>
    </message>
    <message>
        <source>ISCS not running</source>
        <translation>综合监控未运行</translation>
    </message>
    <message>
        <source>ISCS starting</source>
        <translation>综合监控启动中</translation>
    </message>
    <message>
        <source>ISCS ready</source>
        <translation>综合监控就绪</translation>
    </message>
    <message>
        <source>ISCS NOT ANSWERING</source>
        <translation>综合监控无响应</translation>
    </message>
    <message>
        <source>pending {0}, delivered {1}, replaced {2}, launches {3}</source>
        <translation>待发 {0}，已送达 {1}，被替代 {2}，启动次数 {3}</translation>
    </message>
</context>
<context>
    <name>Language</name>
    <message>
        <source>&amp;Language</source>
        <extracomment>Each language by its own name, as the menu offers it. Where the user&apos;s choice is kept (QSettings). The QSettings scope of the installed program (``ui.runtime`` names the application so).</extracomment>
        <translation>界面语言(&amp;L)</translation>
    </message>
    <message>
        <source>Applies at the next start</source>
        <translation>下次启动时生效</translation>
    </message>
    <message>
        <source>Language: {0}</source>
        <translation>界面语言：{0}</translation>
    </message>
    <message>
        <source>Language set to {0}: it applies when the program next starts</source>
        <translation>界面语言已设为 {0}，下次启动程序时生效</translation>
    </message>
</context>
<context>
    <name>Legend</name>
    <message>
        <source>No train and no route: grey, the normal state.</source>
        <translation>无车、无进路：灰色，正常状态。</translation>
    </message>
    <message>
        <source>A train is in the section: muted red, and wider.</source>
        <translation>区段内有列车：暗红色，且线条加宽。</translation>
    </message>
    <message>
        <source>Locked in a set route: muted green.</source>
        <translation>已锁闭在排列好的进路中：暗绿色。</translation>
    </message>
    <message>
        <source>The route is being set (switches moving): bright, dashed.</source>
        <translation>进路正在排列（道岔转换中）：亮绿色虚线。</translation>
    </message>
    <message>
        <source>Train detection failed in the section: magenta, dashed.</source>
        <translation>区段列车检测故障：品红色虚线。</translation>
    </message>
    <message>
        <source>Signal at stop, its normal aspect: a dim lamp, red rim.</source>
        <translation>信号机禁止显示（常态）：暗灯，红色外圈。</translation>
    </message>
    <message>
        <source>Signal cleared for a route: green lamp.</source>
        <translation>信号机开放进路：绿灯。</translation>
    </message>
    <message>
        <source>Cleared onto a diverging route: yellow lamp.</source>
        <translation>开放侧向进路：黄灯。</translation>
    </message>
    <message>
        <source>The lamp is out: a bright hollow ring.</source>
        <translation>灭灯：亮色空心圆环。</translation>
    </message>
    <message>
        <source>The points are moving: a blinking amber ring.</source>
        <translation>道岔正在转换：闪烁的橙色圆环。</translation>
    </message>
    <message>
        <source>No position detected (失表): a magenta diamond.</source>
        <translation>道岔无表示（失表）：品红色菱形。</translation>
    </message>
    <message>
        <source>Blocked (封锁): a blue square.</source>
        <translation>道岔封锁：蓝色方框。</translation>
    </message>
    <message>
        <source>Single-locked by a dispatcher (单锁): cannot be thrown.</source>
        <translation>调度员单锁：不能转换。</translation>
    </message>
    <message>
        <source>Closed by a dispatcher (封闭): no route from it.</source>
        <translation>调度员封闭：不能由此排列进路。</translation>
    </message>
    <message>
        <source>Held at its platform by a dispatcher (扣车).</source>
        <translation>调度员扣车：列车停在站台不发车。</translation>
    </message>
    <message>
        <source>A device with an unacknowledged alarm: a white-framed tag in the priority&apos;s colour with its number (1 critical … 4 low), blinking until acknowledged.</source>
        <translation>设备有未确认报警：白框标签，颜色与数字表示级别（1 紧急 … 4 低），确认前闪烁。</translation>
    </message>
</context>
<context>
    <name>LegendDialog</name>
    <message>
        <source>Legend</source>
        <extracomment>each symbol&apos;s width (scene units), its height is LAMP_H</extracomment>
        <translation>图例</translation>
    </message>
    <message>
        <source>Symbol</source>
        <translation>图符</translation>
    </message>
    <message>
        <source>What it means</source>
        <translation>含义</translation>
    </message>
</context>
<context>
    <name>LinkCause</name>
    <message>
        <source>the server refused the link key</source>
        <translation>服务器拒绝了链路密钥</translation>
    </message>
    <message>
        <source>the server refused the link key for this role</source>
        <translation>服务器拒绝了此角色的链路密钥</translation>
    </message>
    <message>
        <source>the server refused the link: it is not the server this link is for</source>
        <translation>服务器拒绝了链路：它不是此链路要连接的服务器</translation>
    </message>
    <message>
        <source>connection refused: nothing listens there</source>
        <translation>连接被拒绝：该地址无服务监听</translation>
    </message>
    <message>
        <source>no answer in time</source>
        <translation>未在规定时间内应答</translation>
    </message>
    <message>
        <source>network error</source>
        <translation>网络错误</translation>
    </message>
    <message>
        <source>the server refused the link ({0})</source>
        <translation>服务器拒绝了链路（{0}）</translation>
    </message>
    <message>
        <source>no frame for {0} s (heartbeat timeout)</source>
        <translation>{0} 秒未收到帧（心跳超时）</translation>
    </message>
    <message>
        <source>the server stopped reading ({0} bytes waiting)</source>
        <translation>服务器停止读取（{0} 字节待发送）</translation>
    </message>
    <message>
        <source>a frame that breaks the protocol</source>
        <translation>收到违反协议的帧</translation>
    </message>
    <message>
        <source>too many protection failures (last: {0}); resynchronising</source>
        <translation>保护校验失败过多（最近一次：{0}）；正在重新同步</translation>
    </message>
    <message>
        <source>the server serves another line ({0})</source>
        <translation>服务器服务于另一条线路（{0}）</translation>
    </message>
    <message>
        <source>connection lost</source>
        <translation>连接中断</translation>
    </message>
    <message>
        <source>connection closed by the server</source>
        <translation>服务器关闭了连接</translation>
    </message>
</context>
<context>
    <name>LinkHealthDock</name>
    <message>
        <source>Link health</source>
        <translation>链路状态</translation>
    </message>
</context>
<context>
    <name>LinkTableModel</name>
    <message>
        <source>Link</source>
        <translation>链路</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Peer</source>
        <translation>对端</translation>
    </message>
    <message>
        <source>RTT ms</source>
        <translation>往返时延 ms</translation>
    </message>
    <message>
        <source>Last frame s</source>
        <translation>距上帧 s</translation>
    </message>
    <message>
        <source>Reconnects</source>
        <translation>重连次数</translation>
    </message>
    <message>
        <source>Bad frames</source>
        <translation>错误帧</translation>
    </message>
    <message>
        <source>Bad datagrams</source>
        <translation>错误报文</translation>
    </message>
    <message>
        <source>Last error</source>
        <translation>最近错误</translation>
    </message>
    <message>
        <source>down</source>
        <translation>中断</translation>
    </message>
    <message>
        <source>connecting</source>
        <translation>连接中</translation>
    </message>
    <message>
        <source>handshake</source>
        <translation>握手中</translation>
    </message>
    <message>
        <source>up</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>closing</source>
        <translation>关闭中</translation>
    </message>
    <message>
        <source>closed</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <source>master</source>
        <translation>主</translation>
    </message>
    <message>
        <source>standby</source>
        <translation>备</translation>
    </message>
    <message>
        <source>Protected</source>
        <translation>防护</translation>
    </message>
    <message>
        <source>Integrity failures</source>
        <translation>完整性失败</translation>
    </message>
    <message>
        <source>MAC</source>
        <translation>已认证</translation>
    </message>
    <message>
        <source>NO</source>
        <translation>未防护</translation>
    </message>
</context>
<context>
    <name>LockPanel</name>
    <message>
        <source>Desk locked: the line stays in view, commands need the password</source>
        <extracomment>the input that says someone is at the desk (and that a locked desk refuses) refused while locked, outside the lock panel</extracomment>
        <translation>调度台已锁定：线路仍在显示，操作需要输入密码</translation>
    </message>
    <message>
        <source>Logged in: {0} ({1})</source>
        <translation>已登录：{0}（{1}）</translation>
    </message>
    <message>
        <source>password of {0}</source>
        <translation>{0} 的密码</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>解锁</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>enter your dispatcher id</source>
        <translation>请输入调度员工号</translation>
    </message>
    <message>
        <source>a dispatcher id is 1 to 32 letters, digits, &apos;.&apos;, &apos;_&apos; or &apos;-&apos;, starting with a letter or digit</source>
        <translation>调度员工号由 1 至 32 个字母、数字、&apos;.&apos;、&apos;_&apos; 或 &apos;-&apos; 组成，以字母或数字开头</translation>
    </message>
    <message>
        <source>Dispatcher workstation {0}</source>
        <translation>调度工作站 {0}</translation>
    </message>
    <message>
        <source>Who is at this desk?</source>
        <translation>当前值班人员</translation>
    </message>
    <message>
        <source>Dispatcher id</source>
        <translation>调度员工号</translation>
    </message>
    <message>
        <source>dispatcher</source>
        <translation>调度员</translation>
    </message>
    <message>
        <source>supervisor</source>
        <translation>调度长</translation>
    </message>
    <message>
        <source>observer</source>
        <translation>观察员</translation>
    </message>
    <message>
        <source>enter your password</source>
        <translation>请输入密码</translation>
    </message>
    <message>
        <source>wrong dispatcher id or password</source>
        <translation>调度员工号或密码错误</translation>
    </message>
    <message>
        <source>the directory gives {0} no role: ask the administrator</source>
        <translation>目录中 {0} 没有角色：请联系管理员</translation>
    </message>
    <message>
        <source>the directory gives {0} an unknown role &apos;{1}&apos;: ask the administrator</source>
        <translation>目录中 {0} 的角色“{1}”无效：请联系管理员</translation>
    </message>
    <message>
        <source>the directory does not answer (Redis {0}): try again, or call the administrator</source>
        <translation>目录无应答（Redis {0}）：请重试，或联系管理员</translation>
    </message>
    <message>
        <source>too many wrong passwords: try again in {0} s</source>
        <translation>密码错误次数过多：请 {0} 秒后再试</translation>
    </message>
    <message>
        <source>the directory now gives {0} the role {1}: quit and log in again</source>
        <translation>目录中 {0} 的角色已改为{1}：请退出后重新登录</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Checked against the directory (Redis {0}); your role comes from it.</source>
        <translation>密码由目录（Redis {0}）校验；您的角色由目录决定。</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>you may try again</source>
        <translation>现在可以重试</translation>
    </message>
    <message>
        <source>checking…</source>
        <translation>正在校验…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>{0} {1} — dispatcher {2}</source>
        <translation>{0} {1} — 调度员 {2}</translation>
    </message>
    <message>
        <source>{0} is not on the schematic</source>
        <translation>站场图上没有 {0}</translation>
    </message>
    <message>
        <source>Demo: took control of zone {0}</source>
        <translation>演示：已接管联锁区 {0} 的控制权</translation>
    </message>
    <message>
        <source>Demo: a second desk joins with dispatcher-hmi --join-demo (connection file {0}; the link key file is beside it)</source>
        <extracomment>Qt messages that carry no information for us (the offscreen platform&apos;s excuses). Qt message categories that are only detail: QtMultimedia&apos;s libraries it looked for and did without (pipewire, VA-API), told at every start where they are not installed. The signals that end the program as closing its window does (POSIX).</extracomment>
        <translation>演示：第二个调度台用 dispatcher-hmi --join-demo 加入（连接文件 {0}；链路密钥文件在同一目录）</translation>
    </message>
</context>
<context>
    <name>MenuBar</name>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>Zoom to &amp;fit</source>
        <translation>全线显示(&amp;F)</translation>
    </message>
    <message>
        <source>Zoom &amp;in</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <source>Zoom &amp;out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About Dispatcher HMI</source>
        <translation>关于调度工作站(&amp;A)</translation>
    </message>
    <message>
        <source>Dispatcher workstation (metro ATS HMI)
Version {0}</source>
        <translation>行车调度工作站（地铁 ATS 人机界面）
版本 {0}</translation>
    </message>
    <message>
        <source>About Dispatcher HMI</source>
        <translation>关于调度工作站</translation>
    </message>
</context>
<context>
    <name>Minimap</name>
    <message>
        <source>Overview: click to go there</source>
        <translation>全线缩略图：点击即跳转</translation>
    </message>
</context>
<context>
    <name>Names</name>
    <message>
        <source>train {0}</source>
        <translation>列车 {0}</translation>
    </message>
    <message>
        <source>unit {0} (not reported)</source>
        <translation>车组 {0}（无报告）</translation>
    </message>
    <message>
        <source>normal</source>
        <translation>定位</translation>
    </message>
    <message>
        <source>reverse</source>
        <translation>反位</translation>
    </message>
    <message>
        <source>moving</source>
        <translation>转换中</translation>
    </message>
    <message>
        <source>lost</source>
        <translation>失表</translation>
    </message>
    <message>
        <source>switch {switch} is single-locked {position} (单锁)</source>
        <translation>道岔 {switch} 已单锁在{position}</translation>
    </message>
    <message>
        <source>switch {switch} is locked by route {route}</source>
        <translation>道岔 {switch} 被进路 {route} 锁闭</translation>
    </message>
    <message>
        <source>section {section} is occupied</source>
        <translation>区段 {section} 占用</translation>
    </message>
    <message>
        <source>switch {switch} is moving</source>
        <translation>道岔 {switch} 正在转换</translation>
    </message>
    <message>
        <source>route {route} is already set</source>
        <translation>进路 {route} 已排列</translation>
    </message>
    <message>
        <source>signal {signal} is closed (封闭)</source>
        <translation>信号机 {signal} 已封闭</translation>
    </message>
    <message>
        <source>section {section} is locked by route {route}</source>
        <translation>区段 {section} 被进路 {route} 锁闭</translation>
    </message>
    <message>
        <source>route {route} is not set</source>
        <translation>进路 {route} 未排列</translation>
    </message>
    <message>
        <source>a train is in route {route}</source>
        <translation>进路 {route} 内有列车</translation>
    </message>
    <message>
        <source>{device} is no longer reported</source>
        <translation>{device} 已无报告</translation>
    </message>
    <message>
        <source>train {number} is moving</source>
        <translation>列车 {number} 正在运行</translation>
    </message>
    <message>
        <source>switch {switch} has lost its position</source>
        <translation>道岔 {switch} 失去表示</translation>
    </message>
</context>
<context>
    <name>QuitGuard</name>
    <message>
        <source>The desk is locked: unlock it before quitting</source>
        <translation>调度台已锁定：请先解锁再退出</translation>
    </message>
    <message>
        <source>Hand your zones over in Zone control, then quit</source>
        <translation>请在“控制权”中交出您的联锁区，然后再退出</translation>
    </message>
    <message>
        <source>Zone {0} could not be released: not quitting</source>
        <translation>联锁区 {0} 未能交出：不退出</translation>
    </message>
    <message>
        <source>Zone {0} released: the other desks are told</source>
        <translation>已交出联锁区 {0}：其他调度台已收到通知</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Quit the dispatcher workstation?</source>
        <translation>退出调度工作站？</translation>
    </message>
    <message>
        <source>You hold {0}. If you quit, they become free: every other desk is told, and nobody commands them until someone takes them.</source>
        <translation>您持有 {0}。退出后它们将成为空闲：其他调度台都会收到通知，在有人接管之前无人能操作。</translation>
    </message>
    <message>
        <source>Asking for them: {0}.</source>
        <translation>申请者：{0}。</translation>
    </message>
    <message>
        <source>Hand over…</source>
        <translation>交接…</translation>
    </message>
    <message>
        <source>Release and quit</source>
        <translation>交出并退出</translation>
    </message>
    <message>
        <source>Stay</source>
        <translation>留下</translation>
    </message>
    <message>
        <source>Zone {0} handed to {1}</source>
        <translation>联锁区 {0} 已交给 {1}</translation>
    </message>
    <message>
        <source>Give to who asked and quit</source>
        <translation>交给申请者并退出</translation>
    </message>
</context>
<context>
    <name>RefusalCauses</name>
    <message>
        <source>the connection was refused</source>
        <extracomment>Why a service is out of reach, as a code (``cause``), and its English sentence, marked for lupdate in the context ``RefusalCauses`` (a view translates it by code).</extracomment>
        <translation>连接被拒绝</translation>
    </message>
    <message>
        <source>the connection was lost</source>
        <translation>连接已断开</translation>
    </message>
    <message>
        <source>no answer in time</source>
        <translation>未在规定时间内应答</translation>
    </message>
    <message>
        <source>the user or password was refused</source>
        <translation>用户名或密码被拒绝</translation>
    </message>
    <message>
        <source>an error (see the log)</source>
        <translation>出错（详见日志）</translation>
    </message>
</context>
<context>
    <name>Refusals</name>
    <message>
        <source>observers may not command</source>
        <extracomment>Each code&apos;s English rendering; ``{name}`` is a parameter (``{name!r}``: quoted, as Python&apos;s ``repr`` of the text). Parameters: ``zone`` a zone id; ``holder``, ``who`` and ``target`` ``dispatcher@workstation``; ``role`` a role as Redis has it; ``device`` a device id; ``since_ms`` a wall-clock time (ms since the epoch: a value, shown by whoever renders it, a view in the line&apos;s time zone); ``cause`` a code of :data:`CAUSES` (a view translates its sentence); ``error`` a diagnostic in English (an exception&apos;s text); ``op`` a zone operation.</extracomment>
        <translation>观察员不能下达命令</translation>
    </message>
    <message>
        <source>{who} is an observer: observers may not command</source>
        <translation>{who} 是观察员：观察员不能下达命令</translation>
    </message>
    <message>
        <source>{device} is in no control zone: nobody has authority over it</source>
        <translation>{device} 不属于任何联锁区：无人拥有其控制权</translation>
    </message>
    <message>
        <source>unknown zone {zone}</source>
        <translation>未知联锁区 {zone}</translation>
    </message>
    <message>
        <source>zone authority unavailable</source>
        <translation>控制权服务不可用</translation>
    </message>
    <message>
        <source>zone authority unavailable: store closed</source>
        <translation>控制权服务不可用：存储已关闭</translation>
    </message>
    <message>
        <source>zone authority unavailable: not synchronised with Redis yet</source>
        <translation>控制权服务不可用：尚未与 Redis 同步</translation>
    </message>
    <message>
        <source>zone authority unavailable: no state for zone {zone}</source>
        <translation>控制权服务不可用：没有联锁区 {zone} 的状态</translation>
    </message>
    <message>
        <source>zone {zone} is shared: nobody holds it</source>
        <translation>联锁区 {zone} 为共享模式：无人独占控制权</translation>
    </message>
    <message>
        <source>zone {zone} is held by {holder}</source>
        <translation>联锁区 {zone} 的控制权在 {holder}</translation>
    </message>
    <message>
        <source>zone {zone} has no holder: take control first</source>
        <translation>联锁区 {zone} 无人控制：请先接管控制权</translation>
    </message>
    <message>
        <source>zone {zone} is free: take it</source>
        <translation>联锁区 {zone} 无人控制：可直接接管</translation>
    </message>
    <message>
        <source>zone {zone} is not held by {who}</source>
        <translation>联锁区 {zone} 的控制权不在 {who}</translation>
    </message>
    <message>
        <source>only the holder may grant zone {zone} (held by {holder})</source>
        <translation>只有控制者才能交出联锁区 {zone}（当前控制者 {holder}）</translation>
    </message>
    <message>
        <source>only the holder may grant zone {zone} (held by nobody)</source>
        <translation>只有控制者才能交出联锁区 {zone}（当前无人控制）</translation>
    </message>
    <message>
        <source>role {role} may not hold a zone</source>
        <translation>角色 {role} 不能拥有联锁区控制权</translation>
    </message>
    <message>
        <source>{target} may not hold a zone (role {role})</source>
        <translation>{target} 不能拥有联锁区控制权（角色 {role}）</translation>
    </message>
    <message>
        <source>{target} is not logged in</source>
        <translation>{target} 未登录</translation>
    </message>
    <message>
        <source>only a supervisor may do this (role {role})</source>
        <translation>只有调度长才能执行此操作（当前角色 {role}）</translation>
    </message>
    <message>
        <source>only a supervisor may force a transfer (role {role})</source>
        <translation>只有调度长才能强制转移控制权（当前角色 {role}）</translation>
    </message>
    <message>
        <source>only a supervisor may change a zone mode (role {role})</source>
        <translation>只有调度长才能切换联锁区模式（当前角色 {role}）</translation>
    </message>
    <message>
        <source>unknown zone mode {mode!r}</source>
        <translation>未知的联锁区模式 {mode!r}</translation>
    </message>
    <message>
        <source>expected dispatcher@workstation, got {target!r}</source>
        <translation>应为“调度员@工作站”，收到 {target!r}</translation>
    </message>
    <message>
        <source>{op} failed in Redis: {error}</source>
        <translation>{op} 在 Redis 中执行失败：{error}</translation>
    </message>
    <message>
        <source>being executed by {holder}</source>
        <translation>正由 {holder} 执行</translation>
    </message>
    <message>
        <source>device lock service unavailable ({error}); not sent</source>
        <translation>设备锁服务不可用（{error}）；未发送</translation>
    </message>
    <message>
        <source>cancelled before sending; not sent</source>
        <translation>发送前已取消；未发送</translation>
    </message>
    <message>
        <source>cancelled after sending; outcome unknown: check the device</source>
        <translation>发送后已取消；结果未知：请检查设备</translation>
    </message>
    <message>
        <source>{error} before sending; not sent</source>
        <translation>发送前出错：{error}；未发送</translation>
    </message>
    <message>
        <source>{error} after sending; outcome unknown: check the device</source>
        <translation>发送后出错：{error}；结果未知：请检查设备</translation>
    </message>
    <message>
        <source>zone authority unavailable: Redis down since {since_ms} ({cause})</source>
        <translation>控制权服务不可用：Redis 自 {since_ms} 起中断（{cause}）</translation>
    </message>
    <message>
        <source>replay: commands cannot be sent</source>
        <translation>回放：不能发送命令</translation>
    </message>
</context>
<context>
    <name>ReplayBar</name>
    <message>
        <source>Replay</source>
        <translation>回放</translation>
    </message>
    <message>
        <source>−1 s</source>
        <translation>−1 秒</translation>
    </message>
    <message>
        <source>One second back</source>
        <translation>后退一秒</translation>
    </message>
    <message>
        <source>▶ Play</source>
        <translation>▶ 播放</translation>
    </message>
    <message>
        <source>Play / pause (Space)</source>
        <translation>播放 / 暂停（空格）</translation>
    </message>
    <message>
        <source>+1 s</source>
        <translation>+1 秒</translation>
    </message>
    <message>
        <source>One second on</source>
        <translation>前进一秒</translation>
    </message>
    <message>
        <source>Replay speed</source>
        <translation>回放速度</translation>
    </message>
    <message>
        <source>The recording, start to end</source>
        <translation>记录，从开始到结束</translation>
    </message>
    <message>
        <source>A time to jump to (the line&apos;s time)</source>
        <translation>要跳转到的时间（线路时间）</translation>
    </message>
    <message>
        <source>Go</source>
        <translation>跳转</translation>
    </message>
    <message>
        <source>Jump to this time</source>
        <translation>跳转到此时间</translation>
    </message>
    <message>
        <source>Next alarm</source>
        <translation>下一条报警</translation>
    </message>
    <message>
        <source>Next command</source>
        <translation>下一条命令</translation>
    </message>
    <message>
        <source>Next failover</source>
        <translation>下一次主备切换</translation>
    </message>
    <message>
        <source>Nothing more of that in the recording</source>
        <translation>记录中后面没有了</translation>
    </message>
    <message>
        <source>‖ Pause</source>
        <translation>‖ 暂停</translation>
    </message>
</context>
<context>
    <name>ReplaySearchDock</name>
    <message>
        <source>Search the recording</source>
        <translation>检索记录</translation>
    </message>
    <message>
        <source>From / to</source>
        <translation>从 / 到</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Station</source>
        <translation>车站</translation>
    </message>
    <message>
        <source>Dispatcher</source>
        <translation>调度员</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>内容</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>检索</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>alarm</source>
        <translation>报警</translation>
    </message>
    <message>
        <source>command</source>
        <translation>命令</translation>
    </message>
    <message>
        <source>failover</source>
        <translation>主备切换</translation>
    </message>
    <message>
        <source>master</source>
        <translation>主服务器</translation>
    </message>
    <message>
        <source>local alarm</source>
        <translation>本机报警</translation>
    </message>
    <message>
        <source>link</source>
        <translation>链路</translation>
    </message>
</context>
<context>
    <name>ReplayWindow</name>
    <message>
        <source>REPLAY {0} — {1}</source>
        <translation>回放 REPLAY {0} — {1}</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>REPLAY {0}  ·  {1}  ·  {2}  ·  recorded at {3}  ·  commands disabled</source>
        <translation>回放 REPLAY {0}  ·  {1}  ·  {2}  ·  记录于 {3}  ·  命令已禁用</translation>
    </message>
    <message>
        <source>REPLAY {0}</source>
        <translation>回放 {0}</translation>
    </message>
    <message>
        <source>Recorded: {0}</source>
        <translation>记录：{0}</translation>
    </message>
    <message>
        <source>Replay a recording</source>
        <translation>回放记录</translation>
    </message>
    <message>
        <source>Recordings (*.dhbx *.dhclip);;All files (*)</source>
        <translation>记录 (*.dhbx *.dhclip);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Replay not opened: {0}</source>
        <translation>回放未打开：{0}</translation>
    </message>
    <message>
        <source>Replay…</source>
        <translation>回放…</translation>
    </message>
    <message>
        <source>Recording damaged, read up to: {0}</source>
        <extracomment>the banner&apos;s colour: purple, no alarm&apos;s and no device state&apos;s</extracomment>
        <translation>记录已损坏，读到此处为止：{0}</translation>
    </message>
    <message>
        <source>recorded on another version of the line: {0}; shown against {1}</source>
        <translation>记录于另一版本的线路：{0}；按当前线路 {1} 显示</translation>
    </message>
</context>
<context>
    <name>Schematic</name>
    <message>
        <source>normal</source>
        <extracomment>zoom (scene units per pixel inverse) above which device ids are drawn how far a joint between two sections is opened, each side (scene units) how much of a switch leg is cut away when the points do not lie towards it how far along the root track from the points a locked switch&apos;s padlock sits the radius of a switch&apos;s hit area (scene units; its marker is 5–6.5)</extracomment>
        <translation>定位</translation>
    </message>
    <message>
        <source>reverse</source>
        <translation>反位</translation>
    </message>
    <message>
        <source>moving</source>
        <translation>转换中</translation>
    </message>
    <message>
        <source>lost (no detection)</source>
        <translation>失表（无表示）</translation>
    </message>
    <message>
        <source>stop</source>
        <translation>禁止</translation>
    </message>
    <message>
        <source>proceed</source>
        <translation>允许</translation>
    </message>
    <message>
        <source>proceed, diverging</source>
        <translation>允许，侧向</translation>
    </message>
    <message>
        <source>dark</source>
        <translation>灭灯</translation>
    </message>
    <message>
        <source>down</source>
        <translation>下行</translation>
    </message>
    <message>
        <source>up</source>
        <translation>上行</translation>
    </message>
    <message>
        <source>扣</source>
        <translation>扣</translation>
    </message>
    <message>
        <source>occupied</source>
        <extracomment>the size of a device id&apos;s text (scene units) end (0 or 1) -&gt; length cut away there because a switch lies the other way where the id is drawn (its centre), moved apart from others by ui/labels.py how far sideways the id may go (scene x): along its own track, not beside another</extracomment>
        <translation>占用</translation>
    </message>
    <message>
        <source>route {0}</source>
        <translation>进路 {0}</translation>
    </message>
    <message>
        <source>FAULT</source>
        <translation>故障</translation>
    </message>
    <message>
        <source>since {0}</source>
        <translation>自 {0} 起</translation>
    </message>
    <message>
        <source>locked by {0}</source>
        <translation>被进路 {0} 锁闭</translation>
    </message>
    <message>
        <source>BLOCKED</source>
        <translation>卡阻</translation>
    </message>
    <message>
        <source>LOCKED (单锁)</source>
        <translation>单锁</translation>
    </message>
    <message>
        <source>CLOSED (封闭)</source>
        <translation>封闭</translation>
    </message>
    <message>
        <source>HELD (扣车)</source>
        <translation>扣车</translation>
    </message>
    <message>
        <source>NO LIVE DATA: waiting for the server&apos;s snapshot</source>
        <translation>无实时数据：等待服务器的状态快照</translation>
    </message>
    <message>
        <source>DOWN ▶</source>
        <translation>下行 ▶</translation>
    </message>
    <message>
        <source>◀ UP</source>
        <translation>◀ 上行</translation>
    </message>
    <message>
        <source>continues on the next row: {0} {1} ▼</source>
        <translation>接下一行：{0} {1} ▼</translation>
    </message>
    <message>
        <source>▼ continued from the row above: {0} {1}</source>
        <translation>▼ 接上一行：{0} {1}</translation>
    </message>
    <message>
        <source>free</source>
        <extracomment>the step an id is moved by, away from the track (scene units) how many steps out at most the gap kept between two ids: across (x) and along the track (y) a section&apos;s id goes at most this many steps out (it is long: sideways is better)</extracomment>
        <translation>空闲</translation>
    </message>
    <message>
        <source>route set</source>
        <translation>进路已排列</translation>
    </message>
    <message>
        <source>route setting</source>
        <translation>进路排列中</translation>
    </message>
    <message>
        <source>track fault</source>
        <translation>区段故障</translation>
    </message>
    <message>
        <source>diverging</source>
        <translation>侧向</translation>
    </message>
    <message>
        <source>switch moving</source>
        <translation>道岔转换中</translation>
    </message>
    <message>
        <source>switch lost</source>
        <translation>道岔失表</translation>
    </message>
    <message>
        <source>switch blocked</source>
        <translation>道岔卡阻</translation>
    </message>
    <message>
        <source>switch locked</source>
        <translation>道岔单锁</translation>
    </message>
    <message>
        <source>signal closed</source>
        <translation>信号机封闭</translation>
    </message>
    <message>
        <source>train held</source>
        <translation>列车扣车</translation>
    </message>
    <message>
        <source>Train {0}, {1}, {2:.0f} km/h
{3} +{4:.0f} m</source>
        <translation>列车 {0}，{1}，{2:.0f} km/h
{3} +{4:.0f} m</translation>
    </message>
    <message>
        <source>unacknowledged alarm</source>
        <translation>未确认报警</translation>
    </message>
    <message>
        <source>to {0}, {1}</source>
        <translation>开往 {0}，{1}</translation>
    </message>
    <message>
        <source>STOPPED between stations</source>
        <translation>区间停车</translation>
    </message>
    <message>
        <source>{0} min late</source>
        <translation>晚点 {0} 分</translation>
    </message>
    <message>
        <source>{0} min early</source>
        <translation>早点 {0} 分</translation>
    </message>
    <message>
        <source>on time</source>
        <translation>正点</translation>
    </message>
    <message>
        <source>no actual yet</source>
        <translation>尚无实绩</translation>
    </message>
</context>
<context>
    <name>ServerReasons</name>
    <message>
        <source>server {server} is standby</source>
        <extracomment>form -&gt; (reason code, English template). A form is one sentence; a code may have several.</extracomment>
        <translation>服务器 {server} 是备机</translation>
    </message>
    <message>
        <source>a session with role {role!r} may not command</source>
        <translation>角色为 {role!r} 的会话不能下达命令</translation>
    </message>
    <message>
        <source>role {role!r} may not command</source>
        <translation>角色 {role!r} 不能下达命令</translation>
    </message>
    <message>
        <source>the command says role {role!r}, its session is {session!r}</source>
        <translation>命令中的角色为 {role!r}，其会话为 {session!r}</translation>
    </message>
    <message>
        <source>the command names dispatcher {dispatcher!r}, its session is {session!r}</source>
        <translation>命令中的调度员为 {dispatcher!r}，其会话为 {session!r}</translation>
    </message>
    <message>
        <source>this server produces no alarms</source>
        <translation>本服务器不产生报警</translation>
    </message>
    <message>
        <source>operation {op} is not supported by this server</source>
        <translation>本服务器不支持操作 {op}</translation>
    </message>
    <message>
        <source>no switch {switch} on this line</source>
        <translation>本线路没有道岔 {switch}</translation>
    </message>
    <message>
        <source>no signal {signal} on this line</source>
        <translation>本线路没有信号机 {signal}</translation>
    </message>
    <message>
        <source>no route {route} on this line</source>
        <translation>本线路没有进路 {route}</translation>
    </message>
    <message>
        <source>no train {train} on this line</source>
        <translation>本线路没有列车 {train}</translation>
    </message>
    <message>
        <source>switch {switch} is locked {position} (单锁); unlock it first</source>
        <translation>道岔 {switch} 已单锁在{position}；请先解锁</translation>
    </message>
    <message>
        <source>switch {switch} is locked in route {route}</source>
        <translation>道岔 {switch} 被进路 {route} 锁闭</translation>
    </message>
    <message>
        <source>section {section} at switch {switch} is occupied</source>
        <translation>道岔 {switch} 处的区段 {section} 占用</translation>
    </message>
    <message>
        <source>switch {switch} is moving; lock it once it lies in position</source>
        <translation>道岔 {switch} 正在转换；到位后再单锁</translation>
    </message>
    <message>
        <source>route {route} is already set</source>
        <translation>进路 {route} 已排列</translation>
    </message>
    <message>
        <source>signal {signal} is closed (封闭); reopen it before setting route {route}</source>
        <translation>信号机 {signal} 已封闭；排列进路 {route} 前请先解封</translation>
    </message>
    <message>
        <source>section {section} in route {route} is occupied</source>
        <translation>进路 {route} 中的区段 {section} 占用</translation>
    </message>
    <message>
        <source>section {section} is locked in route {route}</source>
        <translation>区段 {section} 被进路 {route} 锁闭</translation>
    </message>
    <message>
        <source>route {route} needs switch {switch} {needed}, but it is locked {position} (单锁)</source>
        <translation>进路 {route} 需要道岔 {switch} 在{needed}，但它已单锁在{position}</translation>
    </message>
    <message>
        <source>switch {switch} must move but section {section} is occupied</source>
        <translation>道岔 {switch} 需要转换，但区段 {section} 占用</translation>
    </message>
    <message>
        <source>route {route} is not set</source>
        <translation>进路 {route} 未排列</translation>
    </message>
    <message>
        <source>a train is in route {route}</source>
        <translation>进路 {route} 内有列车</translation>
    </message>
    <message>
        <source>train {train} is in a consist ({coupling})</source>
        <translation>列车 {train} 已在编组中（{coupling}）</translation>
    </message>
    <message>
        <source>train {train} is moving</source>
        <translation>列车 {train} 正在运行</translation>
    </message>
    <message>
        <source>no stopped unit stands end to end with train {train} within {metres} m</source>
        <translation>{metres} 米内没有与列车 {train} 首尾相接的停稳单元</translation>
    </message>
    <message>
        <source>train {train} is not in a consist</source>
        <translation>列车 {train} 不在编组中</translation>
    </message>
    <message>
        <source>the consist of train {train} is {coupling}</source>
        <translation>列车 {train} 的编组状态为 {coupling}</translation>
    </message>
    <message>
        <source>the consist of train {train} is moving</source>
        <translation>列车 {train} 的编组正在运行</translation>
    </message>
    <message>
        <source>fault {fault!r} is not one of {faults}</source>
        <translation>故障 {fault!r} 不是 {faults} 之一</translation>
    </message>
    <message>
        <source>fault duration {value!r} is not seconds &gt;= 0</source>
        <translation>故障时长 {value!r} 不是大于等于 0 的秒数</translation>
    </message>
    <message>
        <source>disagree needs a consist of two units or more</source>
        <translation>disagree 需要两个及以上单元的编组</translation>
    </message>
    <message>
        <source>shelve needs minutes, got {arg!r}</source>
        <translation>搁置需要分钟数，收到的是 {arg!r}</translation>
    </message>
    <message>
        <source>shelve for 1..{max} minutes, not {minutes}</source>
        <translation>搁置时长应为 1..{max} 分钟，不能是 {minutes}</translation>
    </message>
    <message>
        <source>no alarm {alarm} is active or unacknowledged</source>
        <translation>没有处于报警中或未确认的报警 {alarm}</translation>
    </message>
    <message>
        <source>alarm {alarm} is shelved</source>
        <translation>报警 {alarm} 已搁置</translation>
    </message>
    <message>
        <source>idempotency key {key} was used for {op} {device}{arg}: one key is one intent; not executed</source>
        <translation>幂等键 {key} 已用于 {op} {device}{arg}：一个键只对应一个意图；未执行</translation>
    </message>
    <message>
        <source>this server requires an idempotency key</source>
        <translation>本服务器要求幂等键</translation>
    </message>
    <message>
        <source>this server requires a fencing token</source>
        <translation>本服务器要求令牌</translation>
    </message>
    <message>
        <source>fencing token {token} is outside 0..{max}</source>
        <translation>令牌 {token} 超出 0..{max}</translation>
    </message>
    <message>
        <source>fencing token {token} is older than {highest} already seen for {device}</source>
        <translation>令牌 {token} 比 {device} 已见过的 {highest} 更旧</translation>
    </message>
    <message>
        <source>the lock service could not confirm fencing token {token} for {device}; not executed</source>
        <translation>锁服务无法确认 {device} 的令牌 {token}；未执行</translation>
    </message>
    <message>
        <source>fencing token {token} is above what the lock service has issued for {device}; not executed</source>
        <translation>令牌 {token} 高于锁服务为 {device} 发放的值；未执行</translation>
    </message>
    <message>
        <source>switch already lies {position}</source>
        <translation>道岔已在{position}</translation>
    </message>
    <message>
        <source>switch already locked</source>
        <translation>道岔已单锁</translation>
    </message>
    <message>
        <source>signal already closed</source>
        <translation>信号机已封闭</translation>
    </message>
    <message>
        <source>train already held</source>
        <translation>列车已扣车</translation>
    </message>
    <message>
        <source>switch was not locked</source>
        <translation>道岔未单锁</translation>
    </message>
    <message>
        <source>signal was not closed</source>
        <translation>信号机未封闭</translation>
    </message>
    <message>
        <source>train was not held</source>
        <translation>列车未扣车</translation>
    </message>
    <message>
        <source>coupling with train:{partner}</source>
        <translation>正在与 train:{partner} 联挂</translation>
    </message>
    <message>
        <source>no fault was injected</source>
        <translation>未注入故障</translation>
    </message>
    <message>
        <source>alarm already acknowledged</source>
        <translation>报警已确认</translation>
    </message>
    <message>
        <source>route {route} needs switch {switch}, which has lost its position (表示丢失)</source>
        <translation>进路 {route} 需经过道岔 {switch}，该道岔失去表示</translation>
    </message>
</context>
<context>
    <name>StationDetailDock</name>
    <message>
        <source>Station detail</source>
        <translation>车站详图</translation>
    </message>
</context>
<context>
    <name>StatusBar</name>
    <message>
        <source>Line state synchronised (seq {0})</source>
        <extracomment>how many pixels beside a device a click still hits it where the legend strip lies (Help → Legend shows this part of the scene) &quot;NO LIVE DATA&quot;, shown while the state is stale the line&apos;s time zone: every clock time on screen is shown in it switch -&gt; ((normal section, its end at the switch), (reverse section, end)) ids that found no clear place (drawn where they overlap least)</extracomment>
        <translation>线路状态已同步（序号 {0}）</translation>
    </message>
    <message>
        <source>Waiting for snapshot</source>
        <translation>等待状态快照</translation>
    </message>
    <message>
        <source>Line state synchronised</source>
        <translation>线路状态已同步</translation>
    </message>
    <message>
        <source>Line state not current: waiting for a snapshot</source>
        <translation>线路状态不是最新：等待状态快照</translation>
    </message>
    <message>
        <source>Link {0} {1}:{2} is {3}</source>
        <translation>链路 {0} {1}:{2} {3}</translation>
    </message>
    <message>
        <source>Server {0} at {1}:{2}: {3}</source>
        <translation>服务器 {0}（{1}:{2}）：{3}</translation>
    </message>
    <message>
        <source>role {0}, epoch {1}</source>
        <translation>角色 {0}，任期 {1}</translation>
    </message>
    <message>
        <source>round trip {0:.1f} ms</source>
        <translation>往返时延 {0:.1f} ms</translation>
    </message>
    <message>
        <source>last frame {0:.1f} s ago</source>
        <translation>上一帧在 {0:.1f} 秒前</translation>
    </message>
    <message>
        <source>reconnects {0}, bad frames {1}, bad datagrams {2}</source>
        <translation>重连 {0} 次，错误帧 {1}，错误报文 {2}</translation>
    </message>
    <message>
        <source>last error: {0}</source>
        <translation>最近错误：{0}</translation>
    </message>
    <message>
        <source>No server reachable</source>
        <translation>所有服务器均不可达</translation>
    </message>
    <message>
        <source>Master {0} (epoch {1})</source>
        <translation>主服务器 {0}（任期 {1}）</translation>
    </message>
    <message>
        <source>Master unreachable: showing standby {0}</source>
        <translation>主服务器不可达：显示备服务器 {0} 的数据</translation>
    </message>
    <message>
        <source>DUAL MASTER</source>
        <translation>双主</translation>
    </message>
    <message>
        <source>ALARM: {0}</source>
        <translation>报警：{0}</translation>
    </message>
    <message>
        <source>Cleared: {0}</source>
        <translation>已恢复：{0}</translation>
    </message>
    <message>
        <source>ALARM: {0} (since {1})</source>
        <translation>报警：{0}（自 {1} 起）</translation>
    </message>
    <message>
        <source>Back to normal: {0} (since {1}, {2} s)</source>
        <translation>已恢复正常：{0}（自 {1} 起，持续 {2} 秒）</translation>
    </message>
    <message>
        <source>Failover complete: the line state from {0} is current</source>
        <translation>主备切换完成：{0} 的线路状态已是最新</translation>
    </message>
</context>
<context>
    <name>UiScale</name>
    <message>
        <source>UI &amp;scale</source>
        <extracomment>the settings key of the choice: &quot;auto&quot; or a factor (&quot;1.25&quot;) the point size of the window&apos;s texts at 100 % if the application has none the application&apos;s property keeping its font&apos;s size before any scaling</extracomment>
        <translation>界面缩放(&amp;S)</translation>
    </message>
    <message>
        <source>Automatic (follow the screen)</source>
        <translation>自动（跟随屏幕）</translation>
    </message>
    <message>
        <source>{0:.0f} %</source>
        <translation>{0:.0f} %</translation>
    </message>
</context>
<context>
    <name>Workspace</name>
    <message>
        <source>&amp;Reset layout</source>
        <translation>恢复默认布局(&amp;R)</translation>
    </message>
    <message>
        <source>Stop &amp;following the train</source>
        <translation>停止跟踪列车(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Minimap</source>
        <translation>缩略图(&amp;M)</translation>
    </message>
    <message>
        <source>No longer following a train</source>
        <translation>已停止跟踪列车</translation>
    </message>
    <message>
        <source>The train followed is no longer reported</source>
        <translation>所跟踪的列车已不再报告</translation>
    </message>
    <message>
        <source>Following train {0} (drag the view or Esc to stop)</source>
        <translation>正在跟踪列车 {0}（拖动画面或按 Esc 停止）</translation>
    </message>
    <message>
        <source>Abnormal states differ in shape or line pattern as well as colour: a fault is dashed, a lost switch is a diamond, a blocked one a square, a closed signal is crossed, a held train carries a badge.</source>
        <translation>异常状态除颜色外还以形状或线型区分：故障为虚线，失表道岔为菱形，卡阻道岔为方形，封闭信号机带叉，扣车列车带标记。</translation>
    </message>
    <message>
        <source>Workstation {0}, dispatcher {1}, role {2}</source>
        <translation>工作站 {0}，调度员 {1}，角色 {2}</translation>
    </message>
    <message>
        <source>Line state: seq {0}, stale deltas {1}, unknown records {2}</source>
        <translation>线路状态：序号 {0}，过时增量 {1}，未知记录 {2}</translation>
    </message>
    <message>
        <source>Link {0}: {1}, reconnects {2}, bad frames {3}, bad datagrams {4}</source>
        <translation>链路 {0}：{1}，重连 {2} 次，错误帧 {3}，错误报文 {4}</translation>
    </message>
    <message>
        <source>Alarms: topic {0}, offset {1}, lag {2}, malformed records {3}</source>
        <translation>报警：主题 {0}，偏移 {1}，滞后 {2}，格式错误记录 {3}</translation>
    </message>
    <message>
        <source>Schematic &amp;only (hide the docks)</source>
        <translation>仅显示站场图(&amp;O)（隐藏停靠窗口）</translation>
    </message>
</context>
<context>
    <name>ZoneControl</name>
    <message>
        <source>{0} asks for zone {1} {2}: grant or keep it in Zone control</source>
        <translation>{0} 申请联锁区 {1} {2} 的控制权：请在“控制权”中交出或保留</translation>
    </message>
    <message>
        <source>Zone control available again</source>
        <translation>控制权服务已恢复</translation>
    </message>
    <message>
        <source>Zone control unavailable: commands refused</source>
        <translation>控制权服务不可用：命令将被拒绝</translation>
    </message>
    <message>
        <source>single-workstation lock</source>
        <translation>单工作站锁</translation>
    </message>
    <message>
        <source>Redis up</source>
        <translation>Redis 正常</translation>
    </message>
    <message>
        <source>REDIS DOWN</source>
        <translation>Redis 中断</translation>
    </message>
    <message>
        <source>Zone control unavailable: every command is refused. {0}</source>
        <translation>控制权服务不可用：所有命令均被拒绝。{0}</translation>
    </message>
    <message>
        <source>No Redis is configured: device locks protect this workstation&apos;s own commands only, and zone control is not shared with other workstations.</source>
        <translation>未配置 Redis：设备锁只保护本工作站自己的命令，控制权也不与其他工作站共享。</translation>
    </message>
    <message>
        <source>Redis {0}: {1}</source>
        <translation>Redis {0}：{1}</translation>
    </message>
    <message>
        <source>Redis {0}; lock quorum {1} of {2}</source>
        <translation>Redis {0}；锁的法定数 {1}/{2}</translation>
    </message>
    <message>
        <source>Redis {0}</source>
        <translation>Redis {0}</translation>
    </message>
    <message>
        <source>You now hold zone {0}: granted by {1}</source>
        <translation>您已获得联锁区 {0} 的控制权：由 {1} 交出</translation>
    </message>
    <message>
        <source>You now hold zone {0}: given by supervisor {1}</source>
        <translation>您已获得联锁区 {0} 的控制权：由调度长 {1} 指派</translation>
    </message>
    <message>
        <source>Zone {0} was taken from you by supervisor {1}</source>
        <translation>联锁区 {0} 的控制权已被调度长 {1} 收回</translation>
    </message>
    <message>
        <source>Zone {0} is free: the desk of {1} left (quit or stopped answering)</source>
        <translation>联锁区 {0} 已空闲：{1} 的调度台已离开（退出或无应答）</translation>
    </message>
    <message>
        <source>Zone {0} is free: supervisor {1} took it from {2}</source>
        <translation>联锁区 {0} 已空闲：调度长 {1} 收回了 {2} 的控制权</translation>
    </message>
    <message>
        <source>Zone {0} is free: released by {1}</source>
        <translation>联锁区 {0} 已空闲：{1} 交出了控制权</translation>
    </message>
</context>
</TS>
