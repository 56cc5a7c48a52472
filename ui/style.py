"""The application style sheet: palette-relative, so light and dark themes both work."""

ACCENT = "#1f5fa8"

STYLE_SHEET = f"""
#sidebar {{
    background: palette(alternate-base);
    border: none;
    border-right: 1px solid palette(mid);
    padding-top: 12px;
    font-size: 11pt;
    outline: 0;
}}
#sidebar::item {{
    padding-left: 18px;
    border-left: 3px solid transparent;
    color: palette(text);
}}
#sidebar::item:hover {{
    background: palette(midlight);
}}
#sidebar::item:selected {{
    background: palette(base);
    border-left: 3px solid {ACCENT};
    color: palette(text);
    font-weight: 600;
}}
#pageTitle {{
    font-size: 18pt;
    font-weight: 600;
}}
#pageSubtitle, #hintLabel {{
    color: palette(placeholder-text);
}}
#noteLabel, #evidenceWarning, #readOnlyBadge {{
    background: #fff4e0;
    color: #6b4100;
    border: 1px solid #f0c987;
    border-radius: 4px;
    padding: 6px 10px;
}}
#emptyHint {{
    color: palette(placeholder-text);
    padding: 24px;
}}
#dropArea {{
    border: 2px solid transparent;
    border-radius: 6px;
}}
#dropArea[dropActive="true"] {{
    border: 2px dashed {ACCENT};
    background: palette(alternate-base);
}}
#progressPanel {{
    background: palette(alternate-base);
    border: 1px solid palette(mid);
    border-radius: 6px;
}}
#chatTitle {{
    font-size: 14pt;
    font-weight: 600;
}}
#transcript, #chunkText {{
    font-size: 11pt;
}}
#conversationPanel {{
    background: palette(alternate-base);
    border-right: 1px solid palette(mid);
}}
#conversationList {{
    border: none;
    background: transparent;
}}
#conversationList::item {{
    padding-left: 6px;
    border-left: 3px solid transparent;
    color: palette(text);
}}
#conversationList::item:hover {{
    background: palette(midlight);
}}
#conversationList::item:selected {{
    background: palette(base);
    border-left: 3px solid {ACCENT};
    font-weight: 600;
}}
#conversationMenu::menu-indicator {{
    image: none;
}}
#evidencePanel {{
    border-left: 1px solid palette(mid);
}}
#evidenceSource {{
    font-size: 11pt;
}}
#sectionLabel {{
    font-weight: 600;
}}
#stateLabel[tone="busy"] {{ color: {ACCENT}; }}
#stateLabel[tone="ok"] {{ color: #1b6e34; }}
#stateLabel[tone="warn"] {{ color: #8a5300; }}
#stateLabel[tone="error"] {{ color: #b3261e; }}
#offlineLabel {{
    color: #1b6e34;
    padding-right: 8px;
}}
"""
