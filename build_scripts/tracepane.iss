; Inno Setup script: the Windows installer from the one-folder bundle in dist\tracepane
; (build_scripts\build.py). Run by .github/workflows/build-windows.yml:
;   set TRACEPANE_VERSION=0.1.0 && ISCC.exe build_scripts\tracepane.iss
#define AppVersion GetEnv("TRACEPANE_VERSION")
#if AppVersion == ""
  #error Set TRACEPANE_VERSION (the version in pyproject.toml)
#endif

[Setup]
AppId={{5A0B7C2E-4F3D-4A8B-9E61-7D2C1B0A9F34}
AppName=Tracepane
AppVersion={#AppVersion}
AppPublisher=Tracepane
DefaultDirName={autopf}\Tracepane
DefaultGroupName=Tracepane
OutputDir=..\dist
OutputBaseFilename=tracepane-{#AppVersion}-windows-x64-setup
SetupIconFile=generated\tracepane.ico
UninstallDisplayIcon={app}\tracepane.exe
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Files]
Source: "..\dist\tracepane\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\Tracepane"; Filename: "{app}\tracepane.exe"
Name: "{autodesktop}\Tracepane"; Filename: "{app}\tracepane.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\tracepane.exe"; Description: "Start Tracepane"; Flags: nowait postinstall skipifsilent
