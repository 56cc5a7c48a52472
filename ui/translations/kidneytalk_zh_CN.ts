<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>CrashDialog</name>
    <message>
        <location filename="../dialogs.py" line="69" />
        <source>KidneyTalk — unexpected error</source>
        <translation>KidneyTalk — 意外错误</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="72" />
        <source>KidneyTalk hit an unexpected error. Your library is safe: documents are only marked ready once fully indexed.

Please copy the report below and send it to whoever supports your installation. More detail is in the log file:</source>
        <translation>KidneyTalk 遇到了意外错误。您的资料库是安全的：文档只有在完全索引后才会标记为就绪。

请复制下面的报告，发送给负责维护本软件的人员。更多细节见日志文件：</translation>
    </message>
    <message>
        <location filename="../dialogs.py" line="83" />
        <source>Copy report</source>
        <translation>复制报告</translation>
    </message>
</context>
<context>
    <name>DocumentStatus</name>
    <message>
        <location filename="../library_page.py" line="68" />
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="69" />
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="70" />
        <source>indexing…</source>
        <translation>正在索引…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="71" />
        <source>removing…</source>
        <translation>正在移除…</translation>
    </message>
</context>
<context>
    <name>DocumentTableModel</name>
    <message>
        <location filename="../library_page.py" line="90" />
        <source>Use</source>
        <translation>使用</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="91" />
        <source>Document</source>
        <translation>文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="92" />
        <source>Pages</source>
        <translation>页数</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="93" />
        <source>Passages kept</source>
        <translation>保留段落</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="94" />
        <source>Dropped</source>
        <translation>已剔除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="95" />
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="98" />
        <source>Tick to let answers use this document; untick to keep it out of answers without removing it</source>
        <translation>勾选后回答会使用此文档；取消勾选则不再使用，但不会移除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="100" />
        <source>File name (hover for title and location)</source>
        <translation>文件名（悬停查看标题和位置）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="101" />
        <source>Number of pages</source>
        <translation>页数</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="102" />
        <source>Passages indexed for search</source>
        <translation>已建立检索索引的段落</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="103" />
        <source>Passages left out by the filter (headers, references, boilerplate)</source>
        <translation>被过滤器剔除的段落（页眉、参考文献、套话）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="104" />
        <source>ready, needs OCR, failed (with the reason) or indexing</source>
        <translation>就绪、需要 OCR、失败（附原因）或正在索引</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="182" />
        <source>Used for answers (click to change)</source>
        <translation>用于回答（点击更改）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="183" />
        <source>Not used for answers (click to change)</source>
        <translation>不用于回答（点击更改）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="189" />
        <source>added %1</source>
        <translation>添加于 %1</translation>
    </message>
</context>
<context>
    <name>EvalPage</name>
    <message>
        <location filename="../eval_page.py" line="230" />
        <source>Evaluation</source>
        <translation>评估</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="232" />
        <source>Measure how often answers are right, refused and backed by the right page on a question file with known answers (JSONL or CSV), for each retrieval mode.</source>
        <translation>用带标准答案的问题文件（JSONL 或 CSV）衡量每种检索模式下回答的正确率、拒答率，以及是否引用了正确的页面。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="234" />
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="235" />
        <source>Question file:</source>
        <translation>问题文件：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="236" />
        <source>questions.jsonl or .csv with the correct answer of each question</source>
        <translation>含每个问题正确答案的 questions.jsonl 或 .csv</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="237" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="238" />
        <source>Modes:</source>
        <translation>模式：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="239" />
        <source>The model alone, without your library (the baseline)</source>
        <translation>仅用模型，不使用资料库（基线）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="240" />
        <source>Options:</source>
        <translation>选项：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="241" />
        <source>Answer style:</source>
        <translation>回答风格：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="242" />
        <source>Questions:</source>
        <translation>问题数：</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="243" />
        <source>all</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="244" />
        <source>Evaluate only the first questions of the file (all when 0)</source>
        <translation>只评估文件中前若干个问题（0 表示全部）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="245" />
        <source>Retrieval only (no answers, fast)</source>
        <translation>仅检索（不生成回答，较快）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="246" />
        <source>Only check whether the gold page is found; no text is generated</source>
        <translation>只检查是否找到标准页面；不生成文本</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="247" />
        <source>Run evaluation</source>
        <translation>开始评估</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="248" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="249" />
        <source>Stop after the current question; finished results are kept</source>
        <translation>在当前问题后停止；已完成的结果会保留</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="250" />
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="251" />
        <source>Open report folder</source>
        <translation>打开报告文件夹</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="252" />
        <source>Open report</source>
        <translation>打开报告</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="254" />
        <source>Not running.</source>
        <translation>未在运行。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="287" />
        <source>Choose a question file</source>
        <translation>选择问题文件</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="288" />
        <source>Question files (*.jsonl *.csv);;All files (*)</source>
        <translation>问题文件 (*.jsonl *.csv);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="302" />
        <source>No question file</source>
        <translation>没有问题文件</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="303" />
        <source>There is no file at %1.</source>
        <translation>%1 处没有文件。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="311" />
        <source>Starting… (loading the models and reading the questions)</source>
        <translation>正在启动…（加载模型并读取问题）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="323" />
        <source>Cancelling after the current question… finished results are kept.</source>
        <translation>将在当前问题后取消…已完成的结果会保留。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="343" />
        <source>%1 of %2 answers</source>
        <translation>已完成 %1 / %2</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="348" />
        <source>about %1 left</source>
        <translation>约剩 %1</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="349" />
        <source>%1 elapsed</source>
        <translation>已用 %1</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="361" />
        <source>Finished in %1.</source>
        <translation>完成，用时 %1。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="363" />
        <source>Cancelled after %1; the report covers the questions that finished.</source>
        <translation>已在 %1 后取消；报告只包含已完成的问题。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="368" />
        <source>Evaluation report written to %1.</source>
        <translation>评估报告已写入 %1。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="376" />
        <source>The evaluation stopped with an error.</source>
        <translation>评估因错误而停止。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="377" />
        <source>Evaluation failed</source>
        <translation>评估失败</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="390" />
        <source>Run an evaluation to see accuracy, refusals and retrieval per mode here; the full report and its plots are saved with the results.</source>
        <translation>运行评估后，这里会显示每种模式的正确率、拒答率和检索结果；完整报告及图表与结果一同保存。</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="395" />
        <source>questions</source>
        <translation>问题数</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="395" />
        <source>accuracy</source>
        <translation>正确率</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="395" />
        <source>refusals</source>
        <translation>拒答率</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="396" />
        <source>accuracy when answered</source>
        <translation>作答时正确率</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="396" />
        <source>gold page found</source>
        <translation>找到标准页面</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="397" />
        <source>gold document found</source>
        <translation>找到标准文档</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="397" />
        <source>MRR</source>
        <translation>MRR</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="398" />
        <source>extractiveness</source>
        <translation>抽取度</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="398" />
        <source>median time (s)</source>
        <translation>中位耗时（秒）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="399" />
        <source>slowest 5% (s)</source>
        <translation>最慢 5%（秒）</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="403" />
        <source>mode</source>
        <translation>模式</translation>
    </message>
    <message>
        <location filename="../eval_page.py" line="419" />
        <source>Report and results in %1</source>
        <translation>报告和结果位于 %1</translation>
    </message>
</context>
<context>
    <name>LibraryPage</name>
    <message>
        <location filename="../library_page.py" line="55" />
        <source>Drop guideline PDFs here or click Add documents</source>
        <translation>把指南 PDF 拖到这里，或点击“添加文档”</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="56" />
        <source>Preparing… (the first import also loads the embedding model)</source>
        <translation>正在准备…（首次导入还会加载嵌入模型）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="354" />
        <source>Library</source>
        <translation>资料库</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="355" />
        <source>Add documents…</source>
        <translation>添加文档…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="356" />
        <source>Add PDF, EPUB, Markdown or text files (Ctrl+O)</source>
        <translation>添加 PDF、EPUB、Markdown 或文本文件（Ctrl+O）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="357" />
        <source>Add files…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="358" />
        <source>Add a folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="359" />
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="360" />
        <source>Open…</source>
        <translation>打开…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="361" />
        <source>Read the selected document here, page by page (double-click a row)</source>
        <translation>在此逐页阅读所选文档（双击一行）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="362" />
        <source>Remove the selected documents from the library (Delete)</source>
        <translation>从资料库移除所选文档（Delete）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="364" />
        <source>Your library is empty</source>
        <translation>您的资料库是空的</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="366" />
        <source>KidneyTalk reads PDF, EPUB, Markdown and text files, and folders of them.</source>
        <translation>KidneyTalk 可读取 PDF、EPUB、Markdown 和文本文件，以及包含它们的文件夹。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="367" />
        <source>Documents are copied into your library and never leave this computer.</source>
        <translation>文档会复制到您的资料库中，绝不会离开这台电脑。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="370" />
        <location filename="../library_page.py" line="456" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="371" />
        <source>Stop adding; files not finished are not kept</source>
        <translation>停止添加；未完成的文件不会保留</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="376" />
        <location filename="../library_page.py" line="404" />
        <source>Add the guidelines and papers you want answers from.</source>
        <translation>添加您希望据以回答的指南和论文。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="398" />
        <source>1 document</source>
        <translation>1 个文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="398" />
        <location filename="../library_page.py" line="570" />
        <source>%1 documents</source>
        <translation>%1 个文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="399" />
        <source>%1 pages · %2 used for answers</source>
        <translation>%1 页 · %2 个用于回答</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="401" />
        <location filename="../library_page.py" line="532" />
        <source>%1 failed</source>
        <translation>%1 个失败</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="429" />
        <source>Add documents</source>
        <translation>添加文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="430" />
        <source>Documents (%1);;All files (*)</source>
        <translation>文档 (%1);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="438" />
        <source>Add a folder of documents</source>
        <translation>添加文档文件夹</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="447" />
        <source>Already adding documents: wait for it to finish, or Cancel it first.</source>
        <translation>正在添加文档：请等待完成，或先取消。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="452" />
        <source>Waiting for the models to finish loading…</source>
        <translation>正在等待模型加载完成…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="464" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="465" />
        <source>Cancelling after the current step… files not finished are not kept.</source>
        <translation>将在当前步骤后取消…未完成的文件不会保留。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="481" />
        <source>Preparing %1 file(s)…</source>
        <translation>正在准备 %1 个文件…</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="497" />
        <source>indexing</source>
        <translation>正在索引</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="497" />
        <source>added</source>
        <translation>已添加</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="497" />
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="498" />
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="498" />
        <source>reading</source>
        <translation>正在读取</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="499" />
        <source>File %1 of %2: %3 (%4)</source>
        <translation>第 %1 / %2 个文件：%3（%4）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="501" />
        <source>%1 pages indexed</source>
        <translation>已索引 %1 页</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="503" />
        <source>%1 pages/s</source>
        <translation>%1 页/秒</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="512" />
        <source>Removed %1.</source>
        <translation>已移除 %1。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="512" />
        <source>Nothing removed.</source>
        <translation>未移除任何内容。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="514" />
        <source>%1 is used for answers again.</source>
        <translation>%1 重新用于回答。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="515" />
        <source>%1 is no longer used for answers.</source>
        <translation>%1 不再用于回答。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="522" />
        <source>Could not add documents</source>
        <translation>无法添加文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="522" />
        <source>Could not remove</source>
        <translation>无法移除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="523" />
        <source>Could not change the document</source>
        <translation>无法更改该文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="528" />
        <source>%1 added</source>
        <translation>已添加 %1 个</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="530" />
        <source>%1 already in the library</source>
        <translation>%1 个已在资料库中</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="534" />
        <source>%1 skipped (unsupported type)</source>
        <translation>跳过 %1 个（不支持的类型）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="536" />
        <source>%1 cancelled (not kept)</source>
        <translation>取消 %1 个（未保留）</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="537" />
        <source>Import finished: %1.</source>
        <translation>导入完成：%1。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="541" />
        <source>… and %1 more</source>
        <translation>…以及另外 %1 个</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="543" />
        <source>Some documents could not be added</source>
        <translation>部分文档无法添加</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="544" />
        <source>%1 of %2 file(s) could not be added:</source>
        <translation>%2 个文件中有 %1 个无法添加：</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="557" />
        <source>Cannot open the document</source>
        <translation>无法打开该文档</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="558" />
        <source>The library keeps no readable copy of %1; add it again.</source>
        <translation>资料库中没有 %1 的可读副本；请重新添加。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="572" />
        <source>Remove from library</source>
        <translation>从资料库移除</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="573" />
        <source>Remove %1 from the library?

Its passages will no longer be used for answers. The original file on your disk is not touched.</source>
        <translation>要从资料库移除 %1 吗？

其中的段落将不再用于回答。磁盘上的原始文件不受影响。</translation>
    </message>
    <message>
        <location filename="../library_page.py" line="578" />
        <source>Remove</source>
        <translation>移除</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="162" />
        <source>Library</source>
        <translation>资料库</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="162" />
        <source>Chat</source>
        <translation>对话</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="162" />
        <source>Ask</source>
        <translation>提问</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="163" />
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="163" />
        <source>Evaluation</source>
        <translation>评估</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="163" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="174" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="175" />
        <source>&amp;Add documents…</source>
        <translation>添加文档(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="177" />
        <source>&amp;New chat</source>
        <translation>新对话(&amp;N)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="178" />
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="179" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="180" />
        <source>&amp;About KidneyTalk</source>
        <translation>关于 KidneyTalk(&amp;A)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="181" />
        <source>● Offline</source>
        <translation>● 离线</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="183" />
        <source>KidneyTalk never connects to the internet.
Library: %1
Log file: %2</source>
        <translation>KidneyTalk 从不连接互联网。
资料库：%1
日志文件：%2</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="205" />
        <source>About KidneyTalk</source>
        <translation>关于 KidneyTalk</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="207" />
        <source>A private, fully offline medical knowledge assistant: a local language model answers from your own documents, with page references.</source>
        <translation>私密、完全离线的医学知识助手：本地语言模型依据您自己的文档作答，并注明页码。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="209" />
        <source>Library: %1</source>
        <translation>资料库：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="210" />
        <source>Log file: %1</source>
        <translation>日志文件：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="219" />
        <source>Loading the models in the background…</source>
        <translation>正在后台加载模型…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="223" />
        <source>Models loaded: ready to answer.</source>
        <translation>模型已加载：可以回答问题了。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="229" />
        <source>Models not loaded yet: %1</source>
        <translation>模型尚未加载：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="231" />
        <source>Could not read the library: %1</source>
        <translation>无法读取资料库：%1</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="268" />
        <source>Quit KidneyTalk</source>
        <translation>退出 KidneyTalk</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="269" />
        <source>Documents are still being added. Quit anyway?

Documents already finished are kept; the one being indexed is not (add it again later).</source>
        <translation>仍在添加文档。仍要退出吗？

已完成的文档会保留；正在索引的文档不会保留（稍后请重新添加）。</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <location filename="../models_page.py" line="279" />
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="281" />
        <source>The language model writes the answers from your documents. Larger models answer better but need more memory and time.</source>
        <translation>语言模型根据您的文档撰写回答。模型越大回答越好，但需要更多内存和时间。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="283" />
        <source>Add model…</source>
        <translation>添加模型…</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="284" />
        <source>Add a GGUF model file from this computer (it is used where it is, not copied)</source>
        <translation>添加本机上的 GGUF 模型文件（在原位置使用，不会复制）</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="285" />
        <source>Use for answers</source>
        <translation>用于回答</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="286" />
        <source>Make the selected model the one that writes answers</source>
        <translation>让所选模型负责撰写回答</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="287" />
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="289" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="289" />
        <source>Architecture</source>
        <translation>架构</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="289" />
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="289" />
        <source>Quantisation</source>
        <translation>量化</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="290" />
        <source>Context</source>
        <translation>上下文</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="290" />
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="290" />
        <source>Memory</source>
        <translation>内存</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="292" />
        <source>Generation settings</source>
        <translation>生成设置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="293" />
        <source>Temperature:</source>
        <translation>温度：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="293" />
        <source>Context length (tokens):</source>
        <translation>上下文长度（词元）：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="293" />
        <source>Threads:</source>
        <translation>线程数：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="294" />
        <source>Longest answer (tokens):</source>
        <translation>最长回答（词元）：</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="297" />
        <source>0 always picks the most likely word; higher values vary the wording. Keep it low for clinical answers.</source>
        <translation>0 总是选择最可能的词；值越高措辞越多变。临床回答请保持较低的值。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="299" />
        <source>How much text the model reads at once (question + passages + answer). More needs more memory; capped at what the model supports.</source>
        <translation>模型一次能读取的文本量（问题 + 段落 + 回答）。越大需要越多内存；不超过模型支持的上限。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="301" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="302" />
        <source>Processor threads used to write answers; Automatic uses all cores.</source>
        <translation>撰写回答时使用的处理器线程；“自动”使用全部核心。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="303" />
        <source>Answers stop after this many tokens.</source>
        <translation>回答达到此词元数后停止。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="305" />
        <source>A new context length or thread count applies from the next question (the model is loaded again). Temperature applies at once.</source>
        <translation>新的上下文长度或线程数从下一个问题起生效（模型会重新加载）。温度立即生效。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="307" />
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="308" />
        <source>Revert</source>
        <translation>还原</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="347" />
        <source>The bundled model comes with KidneyTalk and cannot be removed</source>
        <translation>内置模型随 KidneyTalk 提供，不能移除</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="349" />
        <source>Forget the selected model (the file itself is not deleted)</source>
        <translation>不再使用所选模型（文件本身不会删除）</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="362" />
        <source>cannot be read</source>
        <translation>无法读取</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="366" />
        <source>needs about %1</source>
        <translation>约需 %1</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="368" />
        <source>fits: needs about %1 of %2 free</source>
        <translation>可以运行：约需 %1，可用 %2</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="371" />
        <source>⚠ may not fit: needs about %1, %2 free</source>
        <translation>⚠ 内存可能不足：约需 %1，可用 %2</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="373" />
        <source>This model needs about %1 of memory at this context length but only %2 is free; it may be very slow or fail to load. Choose a smaller or more quantised model, or reduce the context length.</source>
        <translation>在此上下文长度下，该模型约需 %1 内存，但只有 %2 可用；可能非常慢或无法加载。请选择更小或量化程度更高的模型，或减小上下文长度。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="403" />
        <source>Writes the answers</source>
        <translation>负责撰写回答</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="405" />
        <source>Bundled with KidneyTalk</source>
        <translation>随 KidneyTalk 内置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="423" />
        <source>Select a model to see where its file is.</source>
        <translation>选择一个模型以查看其文件位置。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="427" />
        <source>bundled with KidneyTalk</source>
        <translation>随 KidneyTalk 内置</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="429" />
        <source>no chat template: answers may be poor (is it a base model?)</source>
        <translation>没有对话模板：回答质量可能较差（是否为基础模型？）</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="431" />
        <source>loaded now</source>
        <translation>当前已加载</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="451" />
        <source>Add a language model</source>
        <translation>添加语言模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="452" />
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation>GGUF 模型 (*.gguf);;所有文件 (*)</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="473" />
        <source>Remove model</source>
        <translation>移除模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="474" />
        <source>Remove “%1” from KidneyTalk?

The file itself stays on your disk:
%2</source>
        <translation>要从 KidneyTalk 移除“%1”吗？

文件本身仍保留在磁盘上：
%2</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="479" />
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="512" />
        <source>Added model %1.</source>
        <translation>已添加模型 %1。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="515" />
        <source>This file has no chat template; answers may be poor (is it a base model rather than an instruction-tuned one?).</source>
        <translation>此文件没有对话模板；回答质量可能较差（它是否是基础模型而非指令微调模型？）。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="518" />
        <source>It may not fit in this computer's memory at the current context length.</source>
        <translation>在当前上下文长度下，它可能超出这台电脑的内存。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="520" />
        <source>Model added, with a warning</source>
        <translation>模型已添加，但有警告</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="522" />
        <source>Answers will be written by %1 from the next question.</source>
        <translation>从下一个问题起由 %1 撰写回答。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="525" />
        <source>Removed model %1.</source>
        <translation>已移除模型 %1。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="527" />
        <source>Generation settings saved.</source>
        <translation>生成设置已保存。</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="533" />
        <source>Could not read the model list</source>
        <translation>无法读取模型列表</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="534" />
        <source>Could not add the model</source>
        <translation>无法添加模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="535" />
        <source>Could not change the model</source>
        <translation>无法更换模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="536" />
        <source>Could not remove the model</source>
        <translation>无法移除模型</translation>
    </message>
    <message>
        <location filename="../models_page.py" line="537" />
        <source>Could not save the settings</source>
        <translation>无法保存设置</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <location filename="../settings_page.py" line="356" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="357" />
        <source>How KidneyTalk finds evidence and writes answers. Changes apply from the next question once saved.</source>
        <translation>KidneyTalk 如何查找证据并撰写回答。保存后从下一个问题起生效。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="359" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="360" />
        <source>Interface language:</source>
        <translation>界面语言：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="361" />
        <source>Also the language of the instructions given to the model when a question is not clearly Chinese or English. Applies at once.</source>
        <translation>当问题的语言不明确时，也作为给模型的指令语言。立即生效。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="363" />
        <source>Answers</source>
        <translation>回答</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="364" />
        <source>AddRep agents</source>
        <translation>AddRep 智能体</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="365" />
        <source>The agent pipeline of the AddRep retrieval mode: each step can be switched off to answer faster.</source>
        <translation>AddRep 检索模式的智能体流程：每一步都可以关闭以加快回答。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="367" />
        <source>Prompt templates</source>
        <translation>提示词模板</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="368" />
        <source>Template:</source>
        <translation>模板：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="369" />
        <source>Save my version</source>
        <translation>保存我的版本</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="370" />
        <source>Reset to default</source>
        <translation>恢复默认</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="371" />
        <source>Fields in braces, such as {question}, are filled in by KidneyTalk; keep them. Names ending in _zh are used for Chinese questions.</source>
        <translation>花括号中的字段（如 {question}）由 KidneyTalk 填入，请保留。名称以 _zh 结尾的模板用于中文问题。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="373" />
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="374" />
        <source>Changing the passage size or overlap only affects documents added from now on: re-index the library for existing documents to use it.</source>
        <translation>更改段落大小或重叠只影响今后添加的文档：已有文档需要重新索引才会使用新设置。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="376" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="377" />
        <source>bundled all-MiniLM-L6-v2</source>
        <translation>内置 all-MiniLM-L6-v2</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="378" />
        <source>A sentence-transformers model folder on this computer. Takes effect after restarting KidneyTalk; then every document must be re-indexed.</source>
        <translation>本机上的 sentence-transformers 模型文件夹。重启 KidneyTalk 后生效；之后所有文档都需要重新索引。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="380" />
        <source>Storage</source>
        <translation>存储</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="381" />
        <source>Library and documents:</source>
        <translation>资料库与文档：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="381" />
        <source>Settings and prompts:</source>
        <translation>设置与提示词：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="382" />
        <source>Log files:</source>
        <translation>日志文件：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="385" />
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="386" />
        <source>To keep everything in another folder (for example an encrypted drive), start KidneyTalk with --home FOLDER or set KIDNEYTALK_HOME=FOLDER; the new location is used from the next start.</source>
        <translation>如需把所有数据放在其他文件夹（例如加密磁盘），请用 --home 文件夹 启动 KidneyTalk，或设置 KIDNEYTALK_HOME=文件夹；新位置从下次启动起使用。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="389" />
        <source>Privacy</source>
        <translation>隐私</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="390" />
        <source>KidneyTalk works offline: documents, questions and answers never leave this computer, models are loaded from files here, and downloads and telemetry are switched off for every library it uses:</source>
        <translation>KidneyTalk 完全离线工作：文档、问题和回答都不会离开这台电脑，模型从本机文件加载，所用的每个库都已关闭下载和遥测：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="394" />
        <source>Retrieval mode:</source>
        <translation>检索模式：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="394" />
        <source>naive: vector search; hybrid: vector + keyword search; addrep: hybrid plus the agents below (slower, more precise)</source>
        <translation>naive：向量检索；hybrid：向量 + 关键词检索；addrep：hybrid 加上下面的智能体（较慢，更精确）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="396" />
        <source>Answer style:</source>
        <translation>回答风格：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="396" />
        <source>off: free answer; cp-order / cp-link: sentences copied from the evidence; cp-refine: draft, check, revise</source>
        <translation>off：自由回答；cp-order / cp-link：从证据中原文复制句子；cp-refine：起草、检查、修订</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="398" />
        <source>Passages per search:</source>
        <translation>每次检索的段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="398" />
        <source>How many passages the naive and hybrid modes retrieve</source>
        <translation>naive 和 hybrid 模式检索的段落数量</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="399" />
        <source>Minimum similarity:</source>
        <translation>最低相似度：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="399" />
        <source>Passages less similar to the question than this are never used</source>
        <translation>与问题相似度低于此值的段落不会被使用</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="401" />
        <source>Most passages given to the model:</source>
        <translation>提供给模型的最多段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="402" />
        <source>Flag sentences supported below:</source>
        <translation>支持度低于此值的句子标记为：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="403" />
        <source>An answer sentence whose cited passage supports it less than this is marked ⚠</source>
        <translation>引用段落对回答句子的支持度低于此值时，该句标记为 ⚠</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="404" />
        <source>Search used by the agents:</source>
        <translation>智能体使用的检索：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="405" />
        <source>Refine the question:</source>
        <translation>改写问题：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="405" />
        <source>Rewrite a follow-up question into a complete search query using the conversation</source>
        <translation>结合对话把追问改写成完整的检索查询</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="407" />
        <source>Passages of the first search:</source>
        <translation>首次检索的段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="408" />
        <source>Ask divergent questions:</source>
        <translation>提出发散问题：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="408" />
        <source>Search again with related questions the model writes, to find evidence worded differently</source>
        <translation>用模型写出的相关问题再次检索，以找到措辞不同的证据</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="410" />
        <source>Number of divergent questions:</source>
        <translation>发散问题数量：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="411" />
        <source>Passages per divergent question:</source>
        <translation>每个发散问题的段落数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="412" />
        <source>Judge relevance:</source>
        <translation>判断相关性：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="412" />
        <source>The model decides for each passage whether it helps answer the question</source>
        <translation>由模型逐段判断是否有助于回答问题</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="414" />
        <source>Relevance needed:</source>
        <translation>所需相关性：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="414" />
        <source>Calibrated probability a passage must reach to be kept</source>
        <translation>段落被保留所需达到的校准概率</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="416" />
        <source>Keep very similar passages from:</source>
        <translation>高相似段落直接保留的阈值：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="417" />
        <source>A passage at least this similar to the question is kept even if the judge says no</source>
        <translation>与问题相似度不低于此值的段落即使被判为不相关也会保留</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="418" />
        <source>Explain judgements for:</source>
        <translation>给出判断理由：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="418" />
        <source>kept: reasons for kept passages; all; none (fastest)</source>
        <translation>kept：仅保留的段落；all：全部；none：不给理由（最快）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="420" />
        <source>CP-Refine revision rounds:</source>
        <translation>CP-Refine 修订轮数：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="421" />
        <source>CP-Refine target coverage:</source>
        <translation>CP-Refine 目标覆盖率：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="421" />
        <source>Revision stops once this share of the answer is copied from evidence</source>
        <translation>回答中从证据复制的比例达到此值时停止修订</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="423" />
        <source>Filter passages with the model when adding:</source>
        <translation>添加文档时用模型过滤段落：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="424" />
        <source>Also let the language model drop passages without medical content (slower import)</source>
        <translation>同时让语言模型剔除不含医学内容的段落（导入更慢）</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="425" />
        <source>Passage size (tokens):</source>
        <translation>段落大小（词元）：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="426" />
        <source>Passage overlap (tokens):</source>
        <translation>段落重叠（词元）：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="427" />
        <source>Embedding model folder:</source>
        <translation>嵌入模型文件夹：</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="434" />
        <source>Revert</source>
        <translation>还原</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="435" />
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="501" />
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="503" />
        <source>You have unsaved changes.</source>
        <translation>有尚未保存的更改。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="505" />
        <source>Settings are saved in %1</source>
        <translation>设置保存在 %1</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="513" />
        <source>Cannot save</source>
        <translation>无法保存</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="514" />
        <source>The passage overlap must be smaller than the passage size.</source>
        <translation>段落重叠必须小于段落大小。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="529" />
        <source>Choose a sentence-transformers model folder</source>
        <translation>选择 sentence-transformers 模型文件夹</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="553" />
        <source>your version</source>
        <translation>您的版本</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="553" />
        <source>built-in</source>
        <translation>内置</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="555" />
        <source>edited, not saved</source>
        <translation>已编辑，未保存</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="568" />
        <source>Could not save the template</source>
        <translation>无法保存模板</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="572" />
        <source>Saved your version of %1 in %2.</source>
        <translation>已将您的 %1 版本保存到 %2。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="579" />
        <source>Could not reset the template</source>
        <translation>无法恢复模板</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="584" />
        <source>%1 is back to the built-in version.</source>
        <translation>%1 已恢复为内置版本。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="602" />
        <source>Settings saved.</source>
        <translation>设置已保存。</translation>
    </message>
    <message>
        <location filename="../settings_page.py" line="613" />
        <source>Could not save the settings</source>
        <translation>无法保存设置</translation>
    </message>
</context>
</TS>