; Inno Setup script: KidneyTalk-Setup-<version>.exe from the PyInstaller folder dist\KidneyTalk
; (installers/kidneytalk.spec). Built by .github/workflows/build.yml on windows-latest:
;   iscc /DAppVersion=0.1.0 installers\windows\kidneytalk.iss
; Per-user install (no administrator rights), Start-menu entry, optional desktop icon.
; The library stays in the user's folders and is not removed on uninstall.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6B0F3C52-4E8B-4B7A-9C51-2D7A6A0C1E11}
AppName=KidneyTalk
AppVersion={#AppVersion}
AppPublisher=KidneyTalk
AppComments=Private, fully offline medical knowledge assistant
DefaultDirName={localappdata}\Programs\KidneyTalk
DefaultGroupName=KidneyTalk
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=KidneyTalk-Setup-{#AppVersion}
SetupIconFile=..\kidneytalk.ico
UninstallDisplayIcon={app}\kidneytalk-gui.exe
Compression=lzma2/fast
SolidCompression=no
DisableProgramGroupPage=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\KidneyTalk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\KidneyTalk"; Filename: "{app}\kidneytalk-gui.exe"
Name: "{autodesktop}\KidneyTalk"; Filename: "{app}\kidneytalk-gui.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\kidneytalk-gui.exe"; Description: "{cm:LaunchProgram,KidneyTalk}"; Flags: nowait postinstall skipifsilent
