{#- The data root: var butter_data_root, else env BUTTER_DATA_ROOT, else data/demo. -#}
{% macro butter_data_root() -%}
    {{- return(((var('butter_data_root') or env_var('BUTTER_DATA_ROOT', 'data/demo')) | trim | replace('\\', '/')).rstrip('/')) -}}
{%- endmacro %}


{#- Path of a published folder under the configured data root. -#}
{% macro butter_folder_path(folder) -%}
    {{- return(butter_data_root() ~ '/' ~ folder) -}}
{%- endmacro %}


{#- Whether a folder holds runs or experiment summaries. -#}
{% macro butter_folder_kind(folder) -%}
    {{- return('runs' if folder in butter_folders('runs') else 'summary') -}}
{%- endmacro %}


{#- The source relation of a published folder, or an empty relation with the
    warehouse columns when the folder has no parquet files (a sweep that was
    not downloaded): the build goes on and says so, instead of failing.
    What the folder holds comes from the file inventory; a folder the scan
    found errors in (unreadable or linked folders, unreadable footers,
    partition values that do not parse, mixed column types, NULL arrays; or
    a data root that is missing or holds no published folder) stops dbt
    commands that build here, naming the files; commands that only compile
    log the message and go on. -#}
{% macro butter_source(folder) -%}
    {%- set relation = source('butter', folder) -%}
    {%- set state = butter_inventory_folder(folder) -%}
    {%- if state.errors -%}
        {%- set message = "BUTTER folder '" ~ butter_folder_path(folder) ~ "/' cannot be read "
            ~ "as published (" ~ state.errors | length ~ " problem(s)): " ~ state.errors | join(' | ') -%}
        {%- if flags.WHICH in ['build', 'run', 'test', 'seed', 'snapshot', 'docs'] -%}
            {{- exceptions.raise_compiler_error(message) -}}
        {%- endif -%}
        {#- commands that only compile (compile, lint, analyses) go on with what is readable -#}
        {{- log(message, info=true) -}}
    {%- endif -%}
    {%- if execute and state.parquet_files == 0 -%}
        {{- log("BUTTER: no parquet files under '" ~ butter_folder_path(folder)
            ~ "/': folder '" ~ folder ~ "' is skipped and stg_butter__" ~ folder
            ~ " is empty. Download the folder or point butter_data_root / "
            ~ "BUTTER_DATA_ROOT at the data root that holds it.", info=true) -}}
        {{- return('(' ~ butter_empty_source(folder) ~ ')') -}}
    {%- endif -%}
    {{- return(butter_source_relation(relation, folder)) -}}
{%- endmacro %}


{#- A typed, empty stand-in for a folder, with the warehouse column names. -#}
{% macro butter_empty_source(folder) -%}
    select
    {%- for col in butter_columns(butter_folder_kind(folder)) %}
        cast(null as {{ butter_type(col.sql_type) }}) as {{ adapter.quote(col.name) }},
    {%- endfor %}
        cast(null as string) as filename
    where false
{%- endmacro %}


{#- The staging select list: each warehouse column taken from whichever
    spelling the folder uses and cast to its type. A required column that is
    missing stops the build with the folder and the column named; columns of
    one spelling only (q1/q3, optimizer_sweep) become NULL; extra columns are
    reported and left out. -#}
{% macro butter_staging_columns(folder, source_relation) -%}
    {%- if not execute -%}
        {{- return('*') -}}
    {%- endif -%}
    {%- set kind = butter_folder_kind(folder) -%}
    {%- set described = butter_describe(source_relation) -%}
    {%- set present = {} -%}
    {%- for column in described -%}
        {%- do present.update({column.name: column.type}) -%}
    {%- endfor -%}
    {%- set known = ['filename'] -%}
    {%- set exprs = [] -%}
    {%- for col in butter_columns(kind) -%}
        {%- set candidates = [col.name] -%}
        {%- for spelling in [col.framework, col.published] -%}
            {%- if spelling is not none and spelling not in candidates -%}
                {%- do candidates.append(spelling) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do known.extend(candidates) -%}
        {%- set found = [] -%}
        {%- for name in candidates if name in present -%}
            {%- do found.append(name) -%}
        {%- endfor -%}
        {%- if found | length > 1 -%}
            {{- exceptions.raise_compiler_error(
                "BUTTER folder '" ~ butter_folder_path(folder) ~ "/' has column '"
                ~ col.name ~ "' in two spellings (" ~ found | join(', ')
                ~ "): the files mix exports. Keep one spelling per folder.") -}}
        {%- elif found | length == 1 -%}
            {%- set source_type = present[found[0]] -%}
            {%- if col.sql_type.endswith('[]') and source_type != butter_type(col.sql_type) -%}
                {{- log("BUTTER warning: '" ~ butter_folder_path(folder) ~ "/' column '"
                    ~ found[0] ~ "' is " ~ source_type ~ ", expected " ~ col.sql_type
                    ~ "; values are cast to " ~ col.sql_type ~ ".", info=true) -}}
            {%- endif -%}
            {%- set expr = adapter.quote(found[0]) -%}
            {%- if col.partition -%}
                {%- set expr = butter_partition_value(expr) -%}
            {%- endif -%}
            {%- if col.transform == 'butter_from_unix_seconds' and found[0] != col.name -%}
                {%- set expr = butter_from_unix_seconds(expr) -%}
            {%- endif -%}
            {%- if col.transform == 'butter_first_if_list' and (source_type.endswith('[]') or source_type.startswith('array')) -%}
                {#- documented as [float32]: a one-element list is read as its element -#}
                {%- set expr = butter_list_element(expr, '1') -%}
            {%- endif -%}
            {%- do exprs.append('cast(' ~ expr ~ ' as ' ~ butter_type(col.sql_type) ~ ') as ' ~ col.name) -%}
        {%- elif not col.required or (folder == butter_executive_folder() and not col.executive) -%}
            {%- do exprs.append('cast(null as ' ~ butter_type(col.sql_type) ~ ') as ' ~ col.name) -%}
        {%- else -%}
            {{- exceptions.raise_compiler_error(
                "BUTTER folder '" ~ butter_folder_path(folder) ~ "/' has no column '"
                ~ (col.published or col.name) ~ "' (spellings tried: " ~ candidates | join(', ')
                ~ "). The files do not follow the published BUTTER schema: re-download "
                ~ "the folder or fix the export. Columns found: " ~ present.keys() | list | join(', ')) -}}
        {%- endif -%}
    {%- endfor -%}
    {%- set extra = [] -%}
    {%- for name in present if name not in known -%}
        {%- do extra.append(name) -%}
    {%- endfor -%}
    {%- if extra -%}
        {{- log("BUTTER warning: '" ~ butter_folder_path(folder) ~ "/' has columns outside "
            ~ "the BUTTER schema, not staged: " ~ extra | join(', '), info=true) -}}
    {%- endif -%}
    {%- do exprs.append('filename as source_file') -%}
    {{- return(exprs | join(',\n        ')) -}}
{%- endmacro %}
