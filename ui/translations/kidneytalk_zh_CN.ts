<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AskStage</name>
    <message>
        <location filename="../workers.py" line="120"/>
        <location filename="../workers.py" line="121"/>
        <source>Loading the language model…</source>
        <translation>正在加载语言模型…</translation>
    </message>
    <message>
        <location filename="../workers.py" line="122"/>
        <location filename="../workers.py" line="124"/>
        <source>Searching your library…</source>
        <translation>正在检索资料库…</translation>
    </message>
    <message>
        <location filename="../workers.py" line="123"/>
        <source>Refining the question…</source>
        <translation>正在完善问题…</translation>
    </message>
    <message>
        <location filename="../workers.py" line="125"/>
        <source>Asking divergent questions</source>
        <translation>正在提出发散问题</translation>
    </message>
    <message>
        <location filename="../workers.py" line="126"/>
        <source>Judging relevance</source>
        <translation>正在判断相关性</translation>
    </message>
    <message>
        <location filename="../workers.py" line="127"/>
        <source>Assembling the evidence…</source>
        <translation>正在整理证据…</translation>
    </message>
    <message>
        <location filename="../workers.py" line="128"/>
        <location filename="../workers.py" line="129"/>
        <source>Writing the answer…</source>
        <translation>正在撰写回答…</translation>
    </message>
    <message>
        <location filename="../workers.py" line="130"/>
        <source>The model is thinking…</source>
        <translation>模型正在思考…</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <location filename="../chat_page.py" line="754"/>
        <source>+  New chat</source>
        <translation>+  新建对话</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="755"/>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>开始新的对话 (Ctrl+N)</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="756"/>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="757"/>
        <source>Export to Markdown…</source>
        <translation>导出为 Markdown…</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="758"/>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="759"/>
        <source>Search:</source>
        <translation>检索：</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="760"/>
        <source>Answer:</source>
        <translation>回答：</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="761"/>
        <source>How passages are found for this conversation</source>
        <translation>本对话查找段落的方式</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="762"/>
        <source>How answers are written in this conversation</source>
        <translation>本对话撰写回答的方式</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="765"/>
        <source>Agents refine the question, ask divergent questions and judge each passage</source>
        <translation>智能体完善问题、提出发散问题，并逐段判断相关性</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="767"/>
        <source>Meaning search plus exact words (eGFR, ACR, drug names)</source>
        <translation>语义检索加精确词匹配（eGFR、ACR、药名）</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="768"/>
        <source>Meaning search only: the plain-RAG baseline</source>
        <translation>仅语义检索：普通 RAG 基线</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="770"/>
        <source>Evidence sentences copied verbatim, chosen and ordered by the model</source>
        <translation>逐字复制证据句，由模型挑选并排序</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="772"/>
        <source>Copied sentences joined with linking words from a fixed list</source>
        <translation>复制的句子用固定列表中的连接词衔接</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="773"/>
        <source>A draft, checked and revised to copy more from the evidence</source>
        <translation>先写初稿，经核查后修改，以更多地复制证据原文</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="774"/>
        <source>An ordinary answer written by the model from the evidence</source>
        <translation>由模型依据证据撰写的普通回答</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="779"/>
        <source>Rename, export or delete this conversation</source>
        <translation>重命名、导出或删除此对话</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="782"/>
        <source>Ask a clinical question</source>
        <translation>提出一个临床问题</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="785"/>
        <source>Answers come only from the documents in your library, with the pages they rely on.</source>
        <translation>回答只来自您资料库中的文档，并注明所依据的页码。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="788"/>
        <source>Click a citation such as &lt;b&gt;[1]&lt;/b&gt; to see the passage and its page.</source>
        <translation>点击 &lt;b&gt;[1]&lt;/b&gt; 这样的引用，可查看对应段落及其所在页面。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="791"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="792"/>
        <source>Stop the answer (Esc)</source>
        <translation>停止回答 (Esc)</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="793"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="794"/>
        <source>Send the question (Enter)</source>
        <translation>发送问题 (Enter)</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="796"/>
        <source>Ask a clinical question, e.g. When should metformin be stopped in CKD?</source>
        <translation>提出临床问题，例如：CKD 患者何时应停用二甲双胍？</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="799"/>
        <source>Enter to send · Shift+Enter new line · Esc to stop · Ctrl+N new chat</source>
        <translation>Enter 发送 · Shift+Enter 换行 · Esc 停止 · Ctrl+N 新建对话</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="822"/>
        <source>Saved conversations could not be read: %1</source>
        <translation>无法读取已保存的对话：%1</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="885"/>
        <source>Stop the answer first (Esc), then start a new chat.</source>
        <translation>请先停止回答 (Esc)，再新建对话。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="931"/>
        <source>Delete conversation</source>
        <translation>删除对话</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="933"/>
        <source>Delete the conversation “%1” with its questions and answers? This cannot be undone.</source>
        <translation>要删除对话“%1”及其中的所有问题和回答吗？此操作无法撤销。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="936"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1183"/>
        <source>⚠ One sentence is not supported by the cited passage — do not rely on it.</source>
        <translation>⚠ 有 1 句未得到所引段落的支持——请勿依赖该句。</translation>
    </message>
    <message numerus="yes">
        <location filename="../chat_page.py" line="1187"/>
        <source>⚠ %n sentences are not supported by the cited passage — do not rely on them.</source>
        <translation>
            <numerusform>⚠ 有 %n 句未得到所引段落的支持——请勿依赖这些句子。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="952"/>
        <source>Conversation deleted.</source>
        <translation>对话已删除。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="119"/>
        <source>New conversation</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="956"/>
        <source>Nothing to export yet: ask a question first.</source>
        <translation>暂无可导出的内容：请先提问。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="961"/>
        <source>Export conversation to Markdown</source>
        <translation>将对话导出为 Markdown</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="963"/>
        <source>Markdown (*.md);;All files (*)</source>
        <translation>Markdown (*.md);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="980"/>
        <source>Could not export</source>
        <translation>无法导出</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="981"/>
        <source>Could not write %1:</source>
        <translation>无法写入 %1：</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="985"/>
        <source>Conversation exported to %1</source>
        <translation>对话已导出到 %1</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1057"/>
        <source>Your library is empty: add documents on the Library page first (Ctrl+O).</source>
        <translation>资料库为空：请先在“资料库”页面添加文档 (Ctrl+O)。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1062"/>
        <source>No document is in use: tick “Use” for at least one ready document on the Library page.</source>
        <translation>没有正在使用的文档：请在“资料库”页面为至少一个就绪文档勾选“使用”。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1080"/>
        <source>Type a question first.</source>
        <translation>请先输入问题。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1093"/>
        <source>Waiting for the documents being added to finish… (Esc to stop)</source>
        <translation>正在等待添加中的文档完成…（Esc 停止）</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1095"/>
        <source>Waiting for the models to load…</source>
        <translation>正在等待模型加载…</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1097"/>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1124"/>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1150"/>
        <source>Could not save the conversation</source>
        <translation>无法保存对话</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1165"/>
        <source>Not found in your library.</source>
        <translation>资料库中未找到答案。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1168"/>
        <source>Stopped. The answer is incomplete.</source>
        <translation>已停止。回答不完整。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1170"/>
        <source>Stopped. Nothing was written; the question was not saved.</source>
        <translation>已停止。尚未写出任何内容，问题未保存。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1176"/>
        <source>Answered in %1 s by %2.</source>
        <translation>%2 用时 %1 秒作答。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1195"/>
        <source>Click a citation to check its passage.</source>
        <translation>点击引用可核对其段落。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1202"/>
        <source>The question could not be answered.</source>
        <translation>无法回答该问题。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="1203"/>
        <source>Could not answer</source>
        <translation>无法回答</translation>
    </message>
</context>
<context>
    <name>CrashDialog</name>
    <message>
        <location filename="../dialogs.py" line="118"/>
        <source>KidneyTalk — unexpected error</source>
        <translation>KidneyTalk — 意外错误</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="122"/>
        <source>KidneyTalk hit an unexpected error. Your library is safe: documents are only marked ready once fully indexed.

Please copy the report below and send it to whoever supports your installation. More detail is in the log file:</source>
        <translation>KidneyTalk 遇到了意外错误。您的资料库是安全的：文档只有在完全索引后才会标记为就绪。

请复制下面的报告，发送给负责维护本软件的人员。更多细节见日志文件：</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="135"/>
        <source>Copy report</source>
        <translation>复制报告</translation>
    </message>
</context>
<context>
    <name>DocumentStatus</name>
    <message>
        <location filename="../library_page.py" line="85"/>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="86"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="87"/>
        <source>indexing…</source>
        <translation>正在索引…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="88"/>
        <source>removing…</source>
        <translation>正在移除…</translation>
    </message>
</context>
<context>
    <name>DocumentTableModel</name>
    <message>
        <location filename="../library_page.py" line="107"/>
        <source>Use</source>
        <translation>使用</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="108"/>
        <source>Document</source>
        <translation>文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="109"/>
        <source>Pages</source>
        <translation>页数</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="110"/>
        <source>Passages kept</source>
        <translation>保留段落</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="111"/>
        <source>Dropped</source>
        <translation>已剔除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="112"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="115"/>
        <source>Tick to let answers use this document; untick to keep it out of answers without removing it</source>
        <translation>勾选后回答会使用此文档；取消勾选则不再使用，但不会移除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="119"/>
        <source>File name (hover for title and location)</source>
        <translation>文件名（悬停查看标题和位置）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="120"/>
        <source>Number of pages</source>
        <translation>页数</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="121"/>
        <source>Passages indexed for search</source>
        <translation>已建立检索索引的段落</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="122"/>
        <source>Passages left out by the filter (headers, references, boilerplate)</source>
        <translation>被过滤器剔除的段落（页眉、参考文献、套话）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="126"/>
        <source>ready, needs OCR, failed (with the reason) or indexing</source>
        <translation>就绪、需要 OCR、失败（附原因）或正在索引</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="219"/>
        <source>Used for answers (click to change)</source>
        <translation>用于回答（点击更改）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="221"/>
        <source>Not used for answers (click to change)</source>
        <translation>不用于回答（点击更改）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="230"/>
        <source>added %1</source>
        <translation>添加于 %1</translation>
    </message>
</context>
<context>
    <name>EvalPage</name>
    <message>
        <location filename="../eval_page.py" line="304"/>
        <source>Evaluation</source>
        <translation>评估</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="307"/>
        <source>Measure how often answers are right, refused and backed by the right page on a question file with known answers (JSONL or CSV), for each retrieval mode.</source>
        <translation>用带标准答案的问题文件（JSONL 或 CSV）衡量每种检索模式下回答的正确率、拒答率，以及是否引用了正确的页面。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="311"/>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="312"/>
        <source>Question file:</source>
        <translation>问题文件：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="314"/>
        <source>questions.jsonl or .csv with the correct answer of each question</source>
        <translation>含每个问题正确答案的 questions.jsonl 或 .csv</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="316"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="317"/>
        <source>Modes:</source>
        <translation>模式：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="319"/>
        <source>The model alone, without your library (the baseline)</source>
        <translation>仅用模型，不使用资料库（基线）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="321"/>
        <source>Options:</source>
        <translation>选项：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="322"/>
        <source>Answer style:</source>
        <translation>回答风格：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="327"/>
        <source>Questions:</source>
        <translation>问题数：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="328"/>
        <source>all</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="359"/>
        <source>Retrieval only (no answers, fast)</source>
        <translation>仅检索（不生成回答，较快）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="361"/>
        <source>Only check whether the gold page is found; no text is generated</source>
        <translation>只检查是否找到标准页面；不生成文本</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="417"/>
        <source>Run evaluation</source>
        <translation>开始评估</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="363"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="323"/>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="325"/>
        <source>The language model that answers (the models on the Models page)</source>
        <translation>负责作答的语言模型（即“模型”页面中的模型）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="331"/>
        <source>How many questions to evaluate (all when 0): the first ones of the file, or a random sample</source>
        <translation>要评估的问题数（0 表示全部）：取文件中靠前的问题，或随机抽样</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="335"/>
        <source>Random sample</source>
        <translation>随机抽样</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="338"/>
        <source>Draw the questions at random instead of taking the first ones; the same seed draws the same questions, and a larger number adds to them</source>
        <translation>随机抽取问题，而不是取靠前的问题；相同的种子抽到相同的问题，增大数量会在此基础上追加</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="342"/>
        <source>Seed:</source>
        <translation>种子：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="343"/>
        <source>Which random sample: the same seed gives the same questions</source>
        <translation>决定抽到哪些问题：相同的种子得到相同的问题</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="344"/>
        <source>Results:</source>
        <translation>结果：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="347"/>
        <source>A new folder, or an earlier run to continue: finished answers are kept and only the missing ones are run</source>
        <translation>新建文件夹，或继续先前的运行：已完成的回答会保留，只运行缺少的部分</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="351"/>
        <source>Other folder…</source>
        <translation>其他文件夹…</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="353"/>
        <source>Continue a run saved elsewhere (e.g. by &apos;kidneytalk eval&apos;)</source>
        <translation>继续保存在其他位置的运行（例如由 &apos;kidneytalk eval&apos; 生成）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="356"/>
        <location filename="../eval_page.py" line="528"/>
        <source>New run (a new folder)</source>
        <translation>新的运行（新建文件夹）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="365"/>
        <source>Stop after the current question; finished results are kept</source>
        <translation>在当前问题后停止；已完成的结果会保留</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="367"/>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="368"/>
        <source>Open report folder</source>
        <translation>打开报告文件夹</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="369"/>
        <source>Open report</source>
        <translation>打开报告</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="371"/>
        <source>Not running.</source>
        <translation>未在运行。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="417"/>
        <source>Continue run</source>
        <translation>继续运行</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="430"/>
        <source>Choose a question file</source>
        <translation>选择问题文件</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="432"/>
        <source>Question files (*.jsonl *.csv);;All files (*)</source>
        <translation>问题文件 (*.jsonl *.csv);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="454"/>
        <source>No question file</source>
        <translation>没有问题文件</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="455"/>
        <source>There is no file at %1.</source>
        <translation>%1 处没有文件。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="467"/>
        <source>Could not start</source>
        <translation>无法开始</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="468"/>
        <source>Could not write %1:</source>
        <translation>无法写入 %1：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="476"/>
        <source>Starting… (loading the models and reading the questions)</source>
        <translation>正在启动…（加载模型并读取问题）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="540"/>
        <source>Continue %1 (%2 answers so far)</source>
        <translation>继续 %1（已有 %2 个回答）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="560"/>
        <source>This run was not started here: check that the question file is the one it used.</source>
        <translation>此运行不是在这里启动的：请确认问题文件与当时使用的一致。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="575"/>
        <source>Choose the folder of an earlier run</source>
        <translation>选择先前运行的文件夹</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="582"/>
        <source>Not an evaluation folder</source>
        <translation>不是评估文件夹</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="583"/>
        <source>%1 holds no evaluation results (results.jsonl).</source>
        <translation>%1 中没有评估结果 (results.jsonl)。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="601"/>
        <source>Default model</source>
        <translation>默认模型</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="612"/>
        <source>Cancelling after the current question… finished results are kept.</source>
        <translation>将在当前问题后取消…已完成的结果会保留。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="633"/>
        <source>%1 of %2 answers</source>
        <translation>已完成 %1 / %2</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="638"/>
        <source>about %1 left</source>
        <translation>约剩 %1</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="640"/>
        <source>%1 elapsed</source>
        <translation>已用 %1</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="651"/>
        <source>Finished in %1.</source>
        <translation>完成，用时 %1。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="655"/>
        <source>Cancelled after %1; the report covers the questions that finished.</source>
        <translation>已在 %1 后取消；报告只包含已完成的问题。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="665"/>
        <source>Evaluation report written to %1.</source>
        <translation>评估报告已写入 %1。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="672"/>
        <source>The evaluation stopped with an error.</source>
        <translation>评估因错误而停止。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="673"/>
        <source>Evaluation failed</source>
        <translation>评估失败</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="689"/>
        <source>Run an evaluation to see accuracy, refusals and retrieval per mode here; the full report and its plots are saved with the results.</source>
        <translation>运行评估后，这里会显示每种模式的正确率、拒答率和检索结果；完整报告及图表与结果一同保存。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="696"/>
        <source>questions</source>
        <translation>问题数</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="697"/>
        <source>accuracy</source>
        <translation>正确率</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="698"/>
        <source>refusals</source>
        <translation>拒答率</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="699"/>
        <source>accuracy when answered</source>
        <translation>作答时正确率</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="700"/>
        <source>gold page found</source>
        <translation>找到标准页面</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="701"/>
        <source>gold document found</source>
        <translation>找到标准文档</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="702"/>
        <source>MRR</source>
        <translation>MRR</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="703"/>
        <source>extractiveness</source>
        <translation>抽取度</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="704"/>
        <source>median time (s)</source>
        <translation>中位耗时（秒）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="705"/>
        <source>slowest 5% (s)</source>
        <translation>最慢 5%（秒）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="713"/>
        <source>mode</source>
        <translation>模式</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="732"/>
        <source>Report and results in %1</source>
        <translation>报告和结果位于 %1</translation>
    </message>
</context>
<context>
    <name>EvidencePanel</name>
    <message>
        <location filename="../evidence_panel.py" line="168"/>
        <source>Evidence</source>
        <translation>证据</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="169"/>
        <source>Hide the evidence panel</source>
        <translation>隐藏证据面板</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="170"/>
        <source>Open larger…</source>
        <translation>放大查看…</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="171"/>
        <source>Show this page in its own window</source>
        <translation>在单独的窗口中显示此页</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="219"/>
        <source>text read by OCR from a scanned page; it may contain misread characters</source>
        <translation>文字由 OCR 从扫描页面识别，可能有误识字符</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="236"/>
        <source>similarity %1</source>
        <translation>相似度 %1</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="243"/>
        <source>judged relevant with probability %1</source>
        <translation>判定为相关的概率 %1</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="247"/>
        <source>Retrieval: %1</source>
        <translation>检索：%1</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="249"/>
        <source>Why it was used:</source>
        <translation>采用理由：</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="259"/>
        <source>2–3 words</source>
        <translation>2–3 个词</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="262"/>
        <source>Copied into the answer: %1 · %2 of the passage</source>
        <translation>复制到回答中：%1 · 占段落的 %2</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="266"/>
        <source>The answer copied no run of words from this passage.</source>
        <translation>回答没有从此段落中复制连续的词语。</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="275"/>
        <source>This passage contains text addressed to an AI (instructions, role tags or citation marks). It was neutralised before the model read it and is never obeyed; answer sentences repeating it are marked unsupported.</source>
        <translation>此段落含有写给 AI 的文字（指令、角色标签或引用标记）。模型读取前已将其中和，绝不会照做；重复这些文字的回答句子会标为无依据。</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="285"/>
        <source>Also in: %1</source>
        <translation>亦见于：%1</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="289"/>
        <source>The same passage, or a near copy, is also in these places; one copy stands for all of them in the results.</source>
        <translation>相同或几乎相同的段落也出现在这些位置；结果中以一份代表全部。</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="186"/>
        <source>This document is no longer in the library, so its page cannot be shown.</source>
        <translation>此文档已不在资料库中，无法显示其页面。</translation>
    </message>
    <message>
        <location filename="../evidence_panel.py" line="190"/>
        <source>The library keeps no copy of this document, so its page cannot be shown.</source>
        <translation>资料库中没有保存此文档的副本，无法显示其页面。</translation>
    </message>
</context>
<context>
    <name>LibraryPage</name>
    <message>
        <location filename="../library_page.py" line="70"/>
        <source>Drop guideline PDFs here or click Add documents</source>
        <translation>把指南 PDF 拖到这里，或点击“添加文档”</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="71"/>
        <source>Preparing… (the first import also loads the embedding model)</source>
        <translation>正在准备…（首次导入还会加载嵌入模型）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="454"/>
        <source>Library</source>
        <translation>资料库</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="455"/>
        <source>Add documents…</source>
        <translation>添加文档…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="456"/>
        <source>Add PDF, EPUB, Markdown or text files (Ctrl+O)</source>
        <translation>添加 PDF、EPUB、Markdown 或文本文件（Ctrl+O）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="457"/>
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="458"/>
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="459"/>
        <location filename="../library_page.py" line="462"/>
        <source>Follow a folder…</source>
        <translation>关注文件夹…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="460"/>
        <source>Keep the library in step with a folder</source>
        <translation>让资料库与一个文件夹保持同步</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="410"/>
        <location filename="../library_page.py" line="461"/>
        <source>Followed folders</source>
        <translation>已关注的文件夹</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="463"/>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="465"/>
        <source>Look for new, changed and deleted files in the followed folders now</source>
        <translation>立即检查已关注文件夹中新增、修改和删除的文件</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="467"/>
        <location filename="../library_page.py" line="900"/>
        <location filename="../library_page.py" line="905"/>
        <source>Stop following</source>
        <translation>取消关注</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="469"/>
        <source>Stop following the selected folder; its documents stay</source>
        <translation>取消关注所选文件夹；其文档仍保留在资料库中</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="472"/>
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="473"/>
        <source>Open…</source>
        <translation>打开…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="474"/>
        <source>Re-index</source>
        <translation>重新索引</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="477"/>
        <source>Read the selected documents again from the library&apos;s copies: OCR for scanned pages (&apos;needs OCR&apos;), new settings</source>
        <translation>从资料库中的副本重新读取所选文档：对扫描页面进行 OCR（“需要 OCR”）、应用新设置</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="482"/>
        <source>Read the selected document here, page by page (double-click a row)</source>
        <translation>在此逐页阅读所选文档（双击一行）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="485"/>
        <source>Remove the selected documents from the library (Delete)</source>
        <translation>从资料库移除所选文档（Delete）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="489"/>
        <source>Your library is empty</source>
        <translation>您的资料库是空的</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="492"/>
        <source>KidneyTalk reads PDF, EPUB, Markdown and text files, and folders of them.</source>
        <translation>KidneyTalk 可读取 PDF、EPUB、Markdown 和文本文件，以及包含它们的文件夹。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="494"/>
        <source>Documents are copied into your library and never leave this computer.</source>
        <translation>文档会复制到您的资料库中，绝不会离开这台电脑。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="498"/>
        <location filename="../library_page.py" line="624"/>
        <location filename="../library_page.py" line="667"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="499"/>
        <source>Stop adding; files not finished are not kept</source>
        <translation>停止添加；未完成的文件不会保留</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="506"/>
        <location filename="../library_page.py" line="543"/>
        <source>Add the guidelines and papers you want answers from.</source>
        <translation>添加您希望据以回答的指南和论文。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="529"/>
        <source>1 document</source>
        <translation>1 个文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="531"/>
        <location filename="../library_page.py" line="953"/>
        <source>%1 documents</source>
        <translation>%1 个文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="534"/>
        <source>1 page · %2 used for answers</source>
        <translation>1 页 · %2 个用于回答</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="536"/>
        <source>%1 pages · %2 used for answers</source>
        <translation>%1 页 · %2 个用于回答</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="540"/>
        <location filename="../library_page.py" line="794"/>
        <source>%1 failed</source>
        <translation>%1 个失败</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="574"/>
        <source>Read-only</source>
        <translation>只读</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="585"/>
        <source>This library is in a read-only folder (%1): it answers questions, </source>
        <translation>此资料库位于只读文件夹（%1）：可以回答问题，</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="586"/>
        <source>but documents cannot be added, removed or re-indexed.</source>
        <translation>但不能添加、移除或重新索引文档。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="635"/>
        <source>Add documents</source>
        <translation>添加文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="637"/>
        <source>Documents (%1);;All files (*)</source>
        <translation>文档 (%1);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="646"/>
        <source>Add a folder of documents</source>
        <translation>添加文档文件夹</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="657"/>
        <source>Already adding documents: wait for it to finish, or Cancel it first.</source>
        <translation>正在添加文档：请等待完成，或先取消。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="663"/>
        <source>Waiting for the models to finish loading…</source>
        <translation>正在等待模型加载完成…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="674"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="676"/>
        <source>Cancelling after the current step… files not finished are not kept.</source>
        <translation>将在当前步骤后取消…未完成的文件不会保留。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="720"/>
        <source>Preparing 1 file…</source>
        <translation>正在准备 1 个文件…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="722"/>
        <source>Preparing %1 files…</source>
        <translation>正在准备 %1 个文件…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="744"/>
        <source>OCR of page %1 of %2</source>
        <translation>正在 OCR 第 %1 页，共 %2 页</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="813"/>
        <source>Not added: %1 of %2 files.</source>
        <translation>未添加：%2 个文件中有 %1 个。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="740"/>
        <source>indexing</source>
        <translation>正在索引</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="741"/>
        <source>added</source>
        <translation>已添加</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="742"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="743"/>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="747"/>
        <source>reading</source>
        <translation>正在读取</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="749"/>
        <source>File %1 of %2: %3 (%4)</source>
        <translation>第 %1 / %2 个文件：%3（%4）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="754"/>
        <source>%1 pages indexed</source>
        <translation>已索引 %1 页</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="757"/>
        <source>%1 pages/s</source>
        <translation>%1 页/秒</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="771"/>
        <source>Removed %1.</source>
        <translation>已移除 %1。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="771"/>
        <source>Nothing removed.</source>
        <translation>未移除任何内容。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="776"/>
        <source>%1 is used for answers again.</source>
        <translation>%1 重新用于回答。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="778"/>
        <source>%1 is no longer used for answers.</source>
        <translation>%1 不再用于回答。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="766"/>
        <source>Could not add documents</source>
        <translation>无法添加文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="701"/>
        <source>Could not remove</source>
        <translation>无法移除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="692"/>
        <source>Could not change the document</source>
        <translation>无法更改该文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="790"/>
        <source>%1 added</source>
        <translation>已添加 %1 个</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="792"/>
        <source>%1 already in the library</source>
        <translation>%1 个已在资料库中</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="797"/>
        <source>%1 skipped (unsupported type)</source>
        <translation>跳过 %1 个（不支持的类型）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="800"/>
        <source>%1 cancelled (not kept)</source>
        <translation>取消 %1 个（未保留）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="801"/>
        <source>Import finished: %1.</source>
        <translation>导入完成：%1。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="806"/>
        <source>… and %1 more</source>
        <translation>…以及另外 %1 个</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="812"/>
        <location filename="../library_page.py" line="918"/>
        <source>Some documents could not be added</source>
        <translation>部分文档无法添加</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="824"/>
        <source>Follow a folder</source>
        <translation>关注文件夹</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="831"/>
        <source>Following %1: adding its documents…</source>
        <translation>已关注 %1：正在添加其中的文档…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="836"/>
        <source>syncing…</source>
        <translation>正在同步…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="839"/>
        <source>folder unavailable, retrying</source>
        <translation>文件夹不可用，将重试</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="841"/>
        <source>in sync</source>
        <translation>已同步</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="842"/>
        <source>waiting for the first sync</source>
        <translation>等待首次同步</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="850"/>
        <source>%1 files</source>
        <translation>%1 个文件</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="866"/>
        <source>Files deleted from a followed folder</source>
        <translation>已关注文件夹中的文件被删除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="867"/>
        <source>%1 files were deleted from followed folders:</source>
        <translation>已关注文件夹中有 %1 个文件被删除：</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="872"/>
        <source>Remove them from the library too?</source>
        <translation>是否也从资料库中移除它们？</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="879"/>
        <source>Keep in library</source>
        <translation>保留在资料库中</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="880"/>
        <source>Decide later</source>
        <translation>以后再决定</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="902"/>
        <source>Stop following %1?

Its documents stay in the library; new files in it are no longer added.</source>
        <translation>取消关注 %1？

其文档仍保留在资料库中；之后其中的新文件不再自动添加。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="933"/>
        <source>Cannot open the document</source>
        <translation>无法打开该文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="934"/>
        <source>The library keeps no readable copy of %1; add it again.</source>
        <translation>资料库中没有 %1 的可读副本；请重新添加。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="877"/>
        <location filename="../library_page.py" line="964"/>
        <source>Remove from library</source>
        <translation>从资料库移除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="966"/>
        <source>Remove %1 from the library?

Its passages will no longer be used for answers. The original file on your disk is not touched.</source>
        <translation>要从资料库移除 %1 吗？

其中的段落将不再用于回答。磁盘上的原始文件不受影响。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="969"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="201"/>
        <source>Library</source>
        <translation>资料库</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="202"/>
        <source>Chat</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="203"/>
        <source>Ask</source>
        <translation>提问</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="204"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="205"/>
        <source>Evaluation</source>
        <translation>评估</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="206"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="220"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="221"/>
        <source>&amp;Add documents…</source>
        <translation>添加文档(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="223"/>
        <source>&amp;New chat</source>
        <translation>新对话(&amp;N)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="224"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="225"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="226"/>
        <source>&amp;Keyboard shortcuts</source>
        <translation>键盘快捷键(&amp;K)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="227"/>
        <source>&amp;About KidneyTalk</source>
        <translation>关于 KidneyTalk(&amp;A)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="228"/>
        <source>&amp;Welcome</source>
        <translation>欢迎页(&amp;W)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="229"/>
        <source>● Offline</source>
        <translation>● 离线</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="231"/>
        <source>KidneyTalk never connects to the internet.
Library: %1
Log file: %2</source>
        <translation>KidneyTalk 从不连接互联网。
资料库：%1
日志文件：%2</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="302"/>
        <source>About KidneyTalk</source>
        <translation>关于 KidneyTalk</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="305"/>
        <source>A private, fully offline medical knowledge assistant: a local language model answers from your own documents, with page references.</source>
        <translation>私密、完全离线的医学知识助手：本地语言模型依据您自己的文档作答，并注明页码。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="309"/>
        <location filename="../main_window.py" line="341"/>
        <source>Library: %1</source>
        <translation>资料库：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="311"/>
        <location filename="../main_window.py" line="342"/>
        <source>Log file: %1</source>
        <translation>日志文件：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="323"/>
        <source>KidneyTalk is already open on this library: this is its window.</source>
        <translation>KidneyTalk 已在此资料库上打开：这就是它的窗口。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="330"/>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="330"/>
        <source>Model on %1</source>
        <translation>模型位于 %1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="334"/>
        <source>The language model runs on this computer; KidneyTalk never connects to the internet.</source>
        <translation>语言模型在本机运行；KidneyTalk 从不连接互联网。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="338"/>
        <source>The language model runs on %1: questions and passages are sent there, and KidneyTalk connects to no other host.</source>
        <translation>语言模型在 %1 上运行：问题和段落会发送到该处，KidneyTalk 不连接其他主机。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="360"/>
        <source>Loading the models in the background…</source>
        <translation>正在后台加载模型…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="364"/>
        <source>Models loaded: ready to answer.</source>
        <translation>模型已加载：可以回答问题了。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="366"/>
        <source>Models not loaded yet: %1</source>
        <translation>模型尚未加载：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="375"/>
        <source>Could not read the library: %1</source>
        <translation>无法读取资料库：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="424"/>
        <source>Quit KidneyTalk</source>
        <translation>退出 KidneyTalk</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="426"/>
        <source>Documents are still being added. Quit anyway?

Documents already finished are kept; the one being indexed is not (add it again later).</source>
        <translation>仍在添加文档。仍要退出吗？

已完成的文档会保留；正在索引的文档不会保留（稍后请重新添加）。</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <location filename="../models_page.py" line="381"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="384"/>
        <source>The language model writes the answers from your documents. Larger models answer better but need more memory and time.</source>
        <translation>语言模型根据您的文档撰写回答。模型越大回答越好，但需要更多内存和时间。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="388"/>
        <source>Add model…</source>
        <translation>添加模型…</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="390"/>
        <source>Add a GGUF model file from this computer (it is used where it is, not copied)</source>
        <translation>添加本机上的 GGUF 模型文件（在原位置使用，不会复制）</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="392"/>
        <source>Add model server…</source>
        <translation>添加模型服务器…</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="395"/>
        <source>Use a model served on your network (llama-server, vLLM, Ollama); questions and passages are sent to that server only</source>
        <translation>使用您网络中的模型服务器（llama-server、vLLM、Ollama）；问题和段落只发送到该服务器</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="399"/>
        <source>Use for answers</source>
        <translation>用于回答</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="401"/>
        <source>Make the selected model the one that writes answers</source>
        <translation>让所选模型负责撰写回答</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="403"/>
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="406"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="407"/>
        <source>Architecture</source>
        <translation>架构</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="408"/>
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="409"/>
        <source>Quantisation</source>
        <translation>量化</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="410"/>
        <source>Context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="411"/>
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="412"/>
        <source>Chat format</source>
        <translation>对话格式</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="413"/>
        <source>Runs on</source>
        <translation>运行于</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="414"/>
        <source>Memory</source>
        <translation>内存</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="417"/>
        <source>Generation settings</source>
        <translation>生成设置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="419"/>
        <source>Temperature:</source>
        <translation>温度：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="420"/>
        <source>Context length (tokens):</source>
        <translation>上下文长度（词元）：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="421"/>
        <source>Threads:</source>
        <translation>线程数：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="422"/>
        <source>Longest answer (tokens):</source>
        <translation>最长回答（词元）：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="423"/>
        <source>GPU layers:</source>
        <translation>GPU 层数：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="429"/>
        <source>0 always picks the most likely word; higher values vary the wording. Keep it low for clinical answers.</source>
        <translation>0 总是选择最可能的词；值越高措辞越多变。临床回答请保持较低的值。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="435"/>
        <source>How much text the model reads at once (question + passages + answer). More needs more memory; capped at what the model supports.</source>
        <translation>模型一次能读取的文本量（问题 + 段落 + 回答）。越大需要越多内存；不超过模型支持的上限。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="439"/>
        <location filename="../models_page.py" line="444"/>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="441"/>
        <source>Processor threads used to write answers; Automatic uses all cores.</source>
        <translation>撰写回答时使用的处理器线程；“自动”使用全部核心。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="443"/>
        <source>Answers stop after this many tokens.</source>
        <translation>回答达到此词元数后停止。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="445"/>
        <source>CPU only</source>
        <translation>仅 CPU</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="448"/>
        <source>Model layers run on the graphics card: Automatic puts all of them there when this llama.cpp build has GPU support, CPU only uses none, or type a number of layers (fewer layers when the card&apos;s memory is small).</source>
        <translation>模型层在显卡上运行：“自动”在此 llama.cpp 版本支持 GPU 时将全部层放到显卡上，“仅 CPU”不使用显卡，也可输入层数（显卡内存小时请减少层数）。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="456"/>
        <source>A new context length, thread count or GPU layers setting applies from the next question (the model is loaded again). Temperature applies at once.</source>
        <translation>新的上下文长度、线程数或 GPU 层数从下一个问题起生效（模型会重新载入）。温度立即生效。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="461"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="462"/>
        <source>Revert</source>
        <translation>还原</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="520"/>
        <source>This llama.cpp build can run model layers on the GPU.</source>
        <translation>此 llama.cpp 版本可以在 GPU 上运行模型层。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="525"/>
        <source>This build has no GPU support; see README to build with CUDA/Metal/Vulkan. Models run on the CPU whatever this is set to.</source>
        <translation>此版本不支持 GPU；如需 CUDA/Metal/Vulkan 版本，请参阅 README。无论如何设置，模型都在 CPU 上运行。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="560"/>
        <source>The bundled model comes with KidneyTalk and cannot be removed</source>
        <translation>内置模型随 KidneyTalk 提供，不能移除</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="564"/>
        <source>Forget the selected model (the file itself is not deleted)</source>
        <translation>不再使用所选模型（文件本身不会删除）</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="579"/>
        <source>runs on %1</source>
        <translation>运行于 %1</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="581"/>
        <source>cannot be read</source>
        <translation>无法读取</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="585"/>
        <source>needs about %1</source>
        <translation>约需 %1</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="588"/>
        <source>fits: needs about %1 of %2 free</source>
        <translation>可以运行：约需 %1，可用 %2</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="595"/>
        <source>Model file %1 + memory for %2 tokens of context %3 + working memory</source>
        <translation>模型文件 %1 + %2 个词元上下文所需内存 %3 + 工作内存</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="602"/>
        <source>⚠ may not fit: needs about %1, %2 free</source>
        <translation>⚠ 内存可能不足：约需 %1，可用 %2</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="608"/>
        <source>This model needs about %1 of memory at this context length but only %2 is free; it may be very slow or fail to load. Choose a smaller or more quantised model, or reduce the context length.</source>
        <translation>在此上下文长度下，该模型约需 %1 内存，但只有 %2 可用；可能非常慢或无法加载。请选择更小或量化程度更高的模型，或减小上下文长度。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="646"/>
        <source>Writes the answers</source>
        <translation>负责撰写回答</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="648"/>
        <source>Bundled with KidneyTalk</source>
        <translation>随 KidneyTalk 内置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="668"/>
        <source>Select a model to see where its file is.</source>
        <translation>选择一个模型以查看其文件位置。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="674"/>
        <source>model server %1: questions and passages are sent to %2</source>
        <translation>模型服务器 %1：问题和段落会发送到 %2</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="680"/>
        <source>bundled with KidneyTalk</source>
        <translation>随 KidneyTalk 内置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="682"/>
        <source>no chat template: answers may be poor (is it a base model?)</source>
        <translation>没有对话模板：回答质量可能较差（是否为基础模型？）</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="684"/>
        <source>loaded now</source>
        <translation>当前已加载</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="711"/>
        <source>Add a language model</source>
        <translation>添加语言模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="713"/>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>GGUF 模型 (*.gguf);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="761"/>
        <source>Remove model</source>
        <translation>移除模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="762"/>
        <source>Remove “%1” from KidneyTalk?

The file itself stays on your disk:
%2</source>
        <translation>要从 KidneyTalk 移除“%1”吗？

文件本身仍保留在磁盘上：
%2</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="765"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="797"/>
        <source>Added model %1.</source>
        <translation>已添加模型 %1。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="802"/>
        <source>This file has no chat template; answers may be poor (is it a base model rather than an instruction-tuned one?).</source>
        <translation>此文件没有对话模板；回答质量可能较差（它是否是基础模型而非指令微调模型？）。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="809"/>
        <source>It may not fit in this computer&apos;s memory at the current context length.</source>
        <translation>在当前上下文长度下，它可能超出这台电脑的内存。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="814"/>
        <source>Model added, with a warning</source>
        <translation>模型已添加，但有警告</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="817"/>
        <source>Added model server %1.</source>
        <translation>已添加模型服务器 %1。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="820"/>
        <source>Answers will be written by %1 from the next question.</source>
        <translation>从下一个问题起由 %1 撰写回答。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="825"/>
        <source>Removed model %1.</source>
        <translation>已移除模型 %1。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="827"/>
        <source>Generation settings saved.</source>
        <translation>生成设置已保存。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="831"/>
        <source>Could not read the model list</source>
        <translation>无法读取模型列表</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="832"/>
        <source>Could not add the model</source>
        <translation>无法添加模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="833"/>
        <source>Could not change the model</source>
        <translation>无法更换模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="834"/>
        <source>Could not remove the model</source>
        <translation>无法移除模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="835"/>
        <source>Could not save the settings</source>
        <translation>无法保存设置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="836"/>
        <source>Could not add the model server</source>
        <translation>无法添加模型服务器</translation>
    </message>
</context>
<context>
    <name>PageView</name>
    <message>
        <location filename="../page_view.py" line="209"/>
        <source>Previous page (Page Up)</source>
        <translation>上一页 (Page Up)</translation>
    </message>
    <message>
        <location filename="../page_view.py" line="210"/>
        <source>Next page (Page Down)</source>
        <translation>下一页 (Page Down)</translation>
    </message>
    <message>
        <location filename="../page_view.py" line="211"/>
        <source>Page </source>
        <translation>第 </translation>
    </message>
    <message>
        <location filename="../page_view.py" line="212"/>
        <source>Type a page number and press Enter</source>
        <translation>输入页码并按 Enter</translation>
    </message>
    <message>
        <location filename="../page_view.py" line="257"/>
        <source>The library&apos;s copy of this document is missing, so its page cannot be shown.</source>
        <translation>资料库中此文档的副本已丢失，无法显示其页面。</translation>
    </message>
    <message>
        <location filename="../page_view.py" line="266"/>
        <source>This page cannot be shown (%1).</source>
        <translation>无法显示此页（%1）。</translation>
    </message>
    <message>
        <location filename="../page_view.py" line="314"/>
        <source> · passage highlighted</source>
        <translation> · 段落已高亮</translation>
    </message>
    <message>
        <location filename="../page_view.py" line="316"/>
        <source> · passage not on this page</source>
        <translation> · 段落不在此页</translation>
    </message>
    <message>
        <location filename="../page_view.py" line="319"/>
        <source>of %1</source>
        <translation>页，共 %1 页</translation>
    </message>
</context>
<context>
    <name>ServerDialog</name>
    <message>
        <location filename="../server_dialog.py" line="86"/>
        <source>Add model server</source>
        <translation>添加模型服务器</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="92"/>
        <source>e.g. ward-gpu</source>
        <translation>例如 ward-gpu</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="96"/>
        <source>optional: a file holding the API key</source>
        <translation>可选：存放 API 密钥的文件</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="97"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="103"/>
        <source>optional: the first model the server lists</source>
        <translation>可选：默认使用服务器列出的第一个模型</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="107"/>
        <source>as the server reports</source>
        <translation>以服务器报告为准</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="109"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="110"/>
        <source>URL:</source>
        <translation>网址：</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="111"/>
        <source>API key file:</source>
        <translation>API 密钥文件：</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="112"/>
        <source>Model id:</source>
        <translation>模型 ID：</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="113"/>
        <source>Context (tokens):</source>
        <translation>上下文（词元）：</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="116"/>
        <source>Questions and passages from your library are sent to this server, and KidneyTalk connects to no other host. The key stays in its file.</source>
        <translation>资料库中的问题和段落会发送到此服务器，KidneyTalk 不连接其他主机。密钥保留在其文件中。</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="125"/>
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="149"/>
        <source>API key file</source>
        <translation>API 密钥文件</translation>
    </message>
    <message>
        <location filename="../server_dialog.py" line="163"/>
        <source>Connecting to %1…</source>
        <translation>正在连接 %1…</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <location filename="../settings_page.py" line="424"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="427"/>
        <source>How KidneyTalk finds evidence and writes answers. Changes apply from the next question once saved.</source>
        <translation>KidneyTalk 如何查找证据并撰写回答。保存后从下一个问题起生效。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="431"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="432"/>
        <source>Interface language:</source>
        <translation>界面语言：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="435"/>
        <source>Also the language of the instructions given to the model when a question is not clearly Chinese or English. Applies at once.</source>
        <translation>当问题的语言不明确时，也作为给模型的指令语言。立即生效。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="439"/>
        <source>Answers</source>
        <translation>回答</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="440"/>
        <source>AddRep agents</source>
        <translation>AddRep 智能体</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="443"/>
        <source>The agent pipeline of the AddRep retrieval mode: each step can be switched off to answer faster.</source>
        <translation>AddRep 检索模式的智能体流程：每一步都可以关闭以加快回答。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="447"/>
        <source>Prompt templates</source>
        <translation>提示词模板</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="448"/>
        <source>Template:</source>
        <translation>模板：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="449"/>
        <source>Save my version</source>
        <translation>保存我的版本</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="450"/>
        <source>Reset to default</source>
        <translation>恢复默认</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="453"/>
        <source>Fields in braces, such as {question}, are filled in by KidneyTalk; keep them. Names ending in _zh are used for Chinese questions.</source>
        <translation>花括号中的字段（如 {question}）由 KidneyTalk 填入，请保留。名称以 _zh 结尾的模板用于中文问题。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="457"/>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="460"/>
        <source>Changing the passage size or overlap only affects documents added from now on: re-index the library for existing documents to use it.</source>
        <translation>更改段落大小或重叠只影响今后添加的文档：已有文档需要重新索引才会使用新设置。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="464"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="465"/>
        <source>bundled all-MiniLM-L6-v2</source>
        <translation>内置 all-MiniLM-L6-v2</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="468"/>
        <source>A sentence-transformers model folder on this computer. Takes effect after restarting KidneyTalk; then every document must be re-indexed.</source>
        <translation>本机上的 sentence-transformers 模型文件夹。重启 KidneyTalk 后生效；之后所有文档都需要重新索引。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="472"/>
        <source>Storage</source>
        <translation>存储</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="476"/>
        <source>Library and documents:</source>
        <translation>资料库与文档：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="477"/>
        <source>Settings and prompts:</source>
        <translation>设置与提示词：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="478"/>
        <source>Log files:</source>
        <translation>日志文件：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="484"/>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="374"/>
        <source>Choose where to keep the library</source>
        <translation>选择资料库的存放位置</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="384"/>
        <location filename="../settings_page.py" line="390"/>
        <source>Library folder</source>
        <translation>资料库文件夹</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="392"/>
        <source>From the next start KidneyTalk keeps its library, documents and conversations in {0}. The current library stays in {1}: to take it along, quit KidneyTalk and copy that folder&apos;s contents to the new place.</source>
        <translation>下次启动起，KidneyTalk 会把资料库、文档和对话保存在 {0}。当前资料库仍在 {1}：如需一并迁移，请退出 KidneyTalk，并把该文件夹中的内容复制到新位置。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="402"/>
        <source>From the next start: {0}</source>
        <translation>下次启动起：{0}</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="404"/>
        <source>From the next start: the default folder</source>
        <translation>下次启动起：默认文件夹</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="485"/>
        <source>Move…</source>
        <translation>移动…</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="488"/>
        <source>Keep the library in another folder (for example an encrypted drive) from the next start</source>
        <translation>下次启动起把资料库保存在另一个文件夹（例如加密磁盘）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="492"/>
        <source>Default</source>
        <translation>默认</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="496"/>
        <source>To keep everything in another folder (for example an encrypted drive), use Move… for the library, or start KidneyTalk with --home FOLDER (or KIDNEYTALK_HOME=FOLDER) for everything; the new location is used from the next start.</source>
        <translation>如需把所有内容保存到另一个文件夹（例如加密磁盘）：资料库可用“移动…”，全部内容可用 --home FOLDER（或 KIDNEYTALK_HOME=FOLDER）启动 KidneyTalk；新位置从下次启动起生效。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="502"/>
        <source>Privacy</source>
        <translation>隐私</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="505"/>
        <source>KidneyTalk works offline: documents, questions and answers never leave this computer, models are loaded from files here, and downloads and telemetry are switched off for every library it uses:</source>
        <translation>KidneyTalk 完全离线工作：文档、问题和回答都不会离开这台电脑，模型从本机文件加载，所用的每个库都已关闭下载和遥测：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="512"/>
        <source>Retrieval mode:</source>
        <translation>检索模式：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="514"/>
        <source>naive: vector search; hybrid: vector + keyword search; addrep: hybrid plus the agents below (slower, more precise)</source>
        <translation>naive：向量检索；hybrid：向量 + 关键词检索；addrep：hybrid 加上下面的智能体（较慢，更精确）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="519"/>
        <source>Answer style:</source>
        <translation>回答风格：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="521"/>
        <source>off: free answer; cp-order / cp-link: sentences copied from the evidence; cp-refine: draft, check, revise</source>
        <translation>off：自由回答；cp-order / cp-link：从证据中原文复制句子；cp-refine：起草、检查、修订</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="526"/>
        <source>Passages per search:</source>
        <translation>每次检索的段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="527"/>
        <source>How many passages the naive and hybrid modes retrieve</source>
        <translation>naive 和 hybrid 模式检索的段落数量</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="530"/>
        <source>Minimum similarity:</source>
        <translation>最低相似度：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="531"/>
        <source>Passages less similar to the question than this are never used</source>
        <translation>与问题相似度低于此值的段落不会被使用</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="533"/>
        <source>Most passages given to the model:</source>
        <translation>提供给模型的最多段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="535"/>
        <source>Flag sentences supported below:</source>
        <translation>支持度低于此值的句子标记为：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="537"/>
        <source>An answer sentence whose cited passage supports it less than this is marked ⚠</source>
        <translation>引用段落对回答句子的支持度低于此值时，该句标记为 ⚠</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="540"/>
        <source>Search used by the agents:</source>
        <translation>智能体使用的检索：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="542"/>
        <source>Refine the question:</source>
        <translation>改写问题：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="544"/>
        <source>Rewrite a follow-up question into a complete search query using the conversation</source>
        <translation>结合对话把追问改写成完整的检索查询</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="548"/>
        <source>Passages of the first search:</source>
        <translation>首次检索的段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="550"/>
        <source>Ask divergent questions:</source>
        <translation>提出发散问题：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="552"/>
        <source>Search again with related questions the model writes, to find evidence worded differently</source>
        <translation>用模型写出的相关问题再次检索，以找到措辞不同的证据</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="556"/>
        <source>Number of divergent questions:</source>
        <translation>发散问题数量：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="557"/>
        <source>Passages per divergent question:</source>
        <translation>每个发散问题的段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="559"/>
        <source>Judge relevance:</source>
        <translation>判断相关性：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="560"/>
        <source>The model decides for each passage whether it helps answer the question</source>
        <translation>由模型逐段判断是否有助于回答问题</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="563"/>
        <source>Relevance needed:</source>
        <translation>所需相关性：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="564"/>
        <source>Calibrated probability a passage must reach to be kept</source>
        <translation>段落被保留所需达到的校准概率</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="567"/>
        <source>Keep the best match:</source>
        <translation>保留最佳匹配：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="569"/>
        <source>The first search&apos;s closest passage is kept unless the judge is sure it is irrelevant</source>
        <translation>首轮检索中最相近的段落会被保留，除非评判模型确信其无关</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="573"/>
        <source>Keep very similar passages from:</source>
        <translation>高相似段落直接保留的阈值：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="575"/>
        <source>A passage at least this similar to the question is kept unless the judge is sure it is irrelevant</source>
        <translation>与问题相似度不低于此值的段落会被保留，除非评判模型确信其无关</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="579"/>
        <source>Judge is sure below:</source>
        <translation>评判确信无关的阈值：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="581"/>
        <source>A kept-by-similarity passage is still dropped when its relevance is under this</source>
        <translation>因相似度而保留的段落，若相关性低于此值仍会被剔除</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="585"/>
        <source>Explain judgements for:</source>
        <translation>给出判断理由：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="586"/>
        <source>kept: reasons for kept passages; all; none (fastest)</source>
        <translation>kept：仅保留的段落；all：全部；none：不给理由（最快）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="588"/>
        <source>CP-Refine revision rounds:</source>
        <translation>CP-Refine 修订轮数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="590"/>
        <source>CP-Refine target coverage:</source>
        <translation>CP-Refine 目标覆盖率：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="591"/>
        <source>Revision stops once this share of the answer is copied from evidence</source>
        <translation>回答中从证据复制的比例达到此值时停止修订</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="594"/>
        <source>Filter passages with the model when adding:</source>
        <translation>添加文档时用模型过滤段落：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="596"/>
        <source>Also let the language model drop passages without medical content (slower import)</source>
        <translation>同时让语言模型剔除不含医学内容的段落（导入更慢）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="599"/>
        <source>Passage size (tokens):</source>
        <translation>段落大小（词元）：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="600"/>
        <source>Passage overlap (tokens):</source>
        <translation>段落重叠（词元）：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="602"/>
        <source>Largest file (MB):</source>
        <translation>单个文件上限 (MB)：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="603"/>
        <source>Bigger files are refused before any work starts; 0 allows any size</source>
        <translation>更大的文件在处理前即被拒绝；0 表示不限大小</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="606"/>
        <source>Largest text file (MB):</source>
        <translation>单个文本文件上限 (MB)：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="608"/>
        <source>Plain text and Markdown files bigger than this are refused (a few MB of text take minutes to index); 0 allows any size</source>
        <translation>超过此大小的纯文本和 Markdown 文件将被拒绝（几 MB 的文字需要几分钟来索引）；0 表示不限大小</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="613"/>
        <source>Most pages in one file:</source>
        <translation>单个文件最多页数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="614"/>
        <source>Documents with more pages are refused; 0 allows any number</source>
        <translation>页数更多的文档将被拒绝；0 表示不限页数</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="617"/>
        <source>Files deleted from a followed folder:</source>
        <translation>已关注文件夹中删除的文件：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="619"/>
        <source>ask: ask each time; always: remove their documents too; never: keep their documents</source>
        <translation>ask：每次询问；always：同时移除其文档；never：保留其文档</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="622"/>
        <source>Embedding model folder:</source>
        <translation>嵌入模型文件夹：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="629"/>
        <source>Revert</source>
        <translation>还原</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="630"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="699"/>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="701"/>
        <source>You have unsaved changes.</source>
        <translation>有尚未保存的更改。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="704"/>
        <source>Settings are saved in %1</source>
        <translation>设置保存在 %1</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="716"/>
        <location filename="../settings_page.py" line="722"/>
        <source>Cannot save</source>
        <translation>无法保存</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="717"/>
        <source>The passage overlap must be smaller than the passage size.</source>
        <translation>段落重叠必须小于段落大小。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="738"/>
        <source>Choose a sentence-transformers model folder</source>
        <translation>选择 sentence-transformers 模型文件夹</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="764"/>
        <source>your version</source>
        <translation>您的版本</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="764"/>
        <source>built-in</source>
        <translation>内置</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="766"/>
        <source>edited, not saved</source>
        <translation>已编辑，未保存</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="779"/>
        <source>Could not save the template</source>
        <translation>无法保存模板</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="784"/>
        <source>Saved your version of %1 in %2.</source>
        <translation>已将您的 %1 版本保存到 %2。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="792"/>
        <source>Could not reset the template</source>
        <translation>无法恢复模板</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="797"/>
        <source>%1 is back to the built-in version.</source>
        <translation>%1 已恢复为内置版本。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="823"/>
        <source>Settings saved.</source>
        <translation>设置已保存。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="832"/>
        <source>Could not save the settings</source>
        <translation>无法保存设置</translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <location filename="../dialogs.py" line="225"/>
        <location filename="../dialogs.py" line="278"/>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="257"/>
        <source>New chat</source>
        <translation>新建对话</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="258"/>
        <source>Add documents to the library</source>
        <translation>向资料库添加文档</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="259"/>
        <source>Enter</source>
        <translation>Enter</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="259"/>
        <source>Send the question</source>
        <translation>发送问题</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="260"/>
        <source>Shift+Enter</source>
        <translation>Shift+Enter</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="260"/>
        <source>New line in the question</source>
        <translation>在问题中换行</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="261"/>
        <source>Esc</source>
        <translation>Esc</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="261"/>
        <source>Stop the answer being written</source>
        <translation>停止正在撰写的回答</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="262"/>
        <source>Rename the selected conversation</source>
        <translation>重命名所选对话</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="263"/>
        <source>Export the conversation to Markdown</source>
        <translation>将对话导出为 Markdown</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="265"/>
        <source>Delete</source>
        <translation>Delete</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="266"/>
        <source>Delete the selected conversation or document (after asking)</source>
        <translation>删除所选对话或文档（会先确认）</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="270"/>
        <source>Library, Chat, Models, Evaluation, Settings</source>
        <translation>资料库、对话、模型、评估、设置</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="272"/>
        <source>Page Up / Page Down</source>
        <translation>Page Up / Page Down</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="272"/>
        <source>Previous / next page of a document</source>
        <translation>文档的上一页 / 下一页</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="273"/>
        <source>This list</source>
        <translation>显示本列表</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="274"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="279"/>
        <source>Keys</source>
        <translation>按键</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="279"/>
        <source>Action</source>
        <translation>功能</translation>
    </message>
</context>
<context>
    <name>SingleInstance</name>
    <message>
        <location filename="../app.py" line="111"/>
        <source>KidneyTalk is already open on this library (%1); its window has been brought to the front.</source>
        <translation>KidneyTalk 已在此资料库（%1）上打开；已将其窗口切换到最前面。</translation>
    </message>
</context>
<context>
    <name>Transcript</name>
    <message>
        <location filename="../chat_page.py" line="307"/>
        <source>You</source>
        <translation>您</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="323"/>
        <source>(no answer was written)</source>
        <translation>（未写出回答）</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="332"/>
        <source>Stopped: this answer is incomplete.</source>
        <translation>已停止：此回答不完整。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="341"/>
        <source>⚠ One sentence is not supported by the cited passage (underlined) — do not rely on it.</source>
        <translation>⚠ 有 1 句未得到所引段落的支持（已加下划线）——请勿依赖该句。</translation>
    </message>
    <message numerus="yes">
        <location filename="../chat_page.py" line="346"/>
        <source>⚠ %n sentences are not supported by the cited passage (underlined) — do not rely on them.</source>
        <translation>
            <numerusform>⚠ 有 %n 句未得到所引段落的支持（已加下划线）——请勿依赖这些句子。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="355"/>
        <source>⚠ One sentence is not supported by the cited passage (listed in the export) — do not rely on it.</source>
        <translation>⚠ 有 1 句未得到所引段落的支持（列于导出文件中）——请勿依赖该句。</translation>
    </message>
    <message numerus="yes">
        <location filename="../chat_page.py" line="360"/>
        <source>⚠ %n sentences are not supported by the cited passage (listed in the export) — do not rely on them.</source>
        <translation>
            <numerusform>⚠ 有 %n 句未得到所引段落的支持（列于导出文件中）——请勿依赖这些句子。</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="377"/>
        <source>Hide the model&apos;s reasoning</source>
        <translation>隐藏模型的推理</translation>
    </message>
    <message numerus="yes">
        <location filename="../chat_page.py" line="379"/>
        <source>Show the model&apos;s reasoning (%n words)</source>
        <translation>
            <numerusform>显示模型的推理（%n 个词）</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="382"/>
        <source>What the model thought before answering; it is not checked against your documents.</source>
        <translation>模型回答前的思考内容；未与您的文档核对。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="403"/>
        <source>Not found in the closest passages: %1</source>
        <translation>最接近的段落中未找到：%1</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="411"/>
        <source>KidneyTalk only answers from your documents. Check that the guideline covering this question is in the library and ticked “Use”, or ask with the terms it uses.</source>
        <translation>KidneyTalk 只依据您的文档作答。请确认涵盖此问题的指南已在资料库中并已勾选“使用”，或改用指南中的术语提问。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="421"/>
        <source>Relevance check: %1</source>
        <translation>相关性检查：%1</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="446"/>
        <source>%1 — click to see the passage</source>
        <translation>%1——点击查看段落</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="474"/>
        <source>⚠ Not supported by the cited passage (only %1 of its content words were found there). Do not rely on this sentence.</source>
        <translation>⚠ 未得到所引段落的支持（其实词只有 %1 能在段落中找到）。请勿依赖此句。</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="496"/>
        <source>Sources: </source>
        <translation>来源：</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="498"/>
        <source>The model cited no passage; it was given: </source>
        <translation>模型未引用任何段落；提供给它的段落：</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="510"/>
        <source> (OCR)</source>
        <translation>（OCR 扫描）</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="512"/>
        <source>Text read by OCR from a scanned page: check it on the page</source>
        <translation>文字由 OCR 从扫描页面读取：请在原页面上核对</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="514"/>
        <source>Show the passage and its page</source>
        <translation>显示段落及其所在页面</translation>
    </message>
    <message>
        <location filename="../chat_page.py" line="519"/>
        <source>Copied from the sources: %1 of the words (density %2)</source>
        <translation>复制自来源：占词语的 %1（密度 %2）</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <location filename="../welcome_page.py" line="81"/>
        <source>Welcome to KidneyTalk</source>
        <translation>欢迎使用 KidneyTalk</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="84"/>
        <source>KidneyTalk answers clinical questions from your own documents — guidelines, textbooks, papers — and shows the page each statement comes from. When your documents hold no answer, it says so.</source>
        <translation>KidneyTalk 根据您自己的文档（指南、教科书、论文）回答临床问题，并标明每句话出自哪一页。如果您的文档中没有答案，它会直接说明。</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="88"/>
        <source>Add documents…</source>
        <translation>添加文档…</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="90"/>
        <source>PDF, EPUB, Markdown or text files, or a whole folder (Ctrl+O)</source>
        <translation>PDF、EPUB、Markdown 或文本文件，或整个文件夹 (Ctrl+O)</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="92"/>
        <source>Try the sample document</source>
        <translation>试用示例文档</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="94"/>
        <source>Adds a short primer on chronic kidney disease, then ask it a question</source>
        <translation>添加一份简短的慢性肾脏病入门资料，然后向它提问</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="96"/>
        <source>Follow a folder…</source>
        <translation>关注文件夹…</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="99"/>
        <source>Keep the library in step with a folder: new and changed files are added, deleted ones removed after asking</source>
        <translation>让资料库与一个文件夹保持同步：新增和修改的文件会被添加，删除的文件经确认后移除</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="105"/>
        <source>The language model and the search model come with KidneyTalk and are ready: no download, no account, nothing to set up.</source>
        <translation>语言模型和检索模型随 KidneyTalk 一起提供，已可直接使用：无需下载、无需账号、无需设置。</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="109"/>
        <source>The bundled language model was not found: see Models to add a GGUF file.</source>
        <translation>未找到内置的语言模型：请在“模型”页添加 GGUF 文件。</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="113"/>
        <source>Nothing leaves this computer: no internet connection, no cloud, no telemetry.</source>
        <translation>任何数据都不会离开这台电脑：不联网、不使用云服务、不收集遥测数据。</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="117"/>
        <source>Your library (copies of your documents, the search index and your conversations) is kept in %1</source>
        <translation>您的资料库（文档副本、检索索引和对话记录）保存在 %1</translation>
    </message>
    <message>
        <location filename="../welcome_page.py" line="121"/>
        <source>Answers come from the documents you add only, with page citations you can open.</source>
        <translation>回答只来自您添加的文档，并附有可打开查看的页码引用。</translation>
    </message>
</context>
</TS>
