{#- Column lists shared by several models, so a hyperparameter is added in one place. -#}

{% macro butter_hyperparameters() -%}
    {{- return([
        'dataset', 'shape', 'depth', 'size', 'num_free_parameters',
        'learning_rate', 'batch_size', 'label_noise',
        'kernel_regularizer_type', 'kernel_regularizer_l1', 'kernel_regularizer_l2',
        'epochs',
    ]) -}}
{%- endmacro %}


{% macro butter_sweep_flags() -%}
    {%- set flags = [] -%}
    {%- for sweep in butter_sweeps() -%}
        {%- do flags.append('is_' ~ sweep ~ '_sweep') -%}
    {%- endfor -%}
    {{- return(flags) -}}
{%- endmacro %}


{#- Run metrics (per-epoch arrays of a run), in warehouse spelling. -#}
{% macro butter_run_metrics() -%}
    {%- set metrics = [] -%}
    {%- for col in butter_columns('runs') if col.sql_type.endswith('[]') and col.name != 'widths' -%}
        {%- do metrics.append(col.name) -%}
    {%- endfor -%}
    {{- return(metrics) -}}
{%- endmacro %}


{#- Summary statistics (per-epoch arrays of an experiment), in warehouse spelling. -#}
{% macro butter_summary_statistics() -%}
    {%- set stats = [] -%}
    {%- for col in butter_columns('summary') if col.sql_type.endswith('[]') and col.name != 'widths' -%}
        {%- do stats.append(col.name) -%}
    {%- endfor -%}
    {{- return(stats) -}}
{%- endmacro %}


{#- Columns compared between copies of one run or experiment held in several
    folders (cheap columns only: comparing arrays would read the data again). -#}
{% macro butter_agreement_columns(kind) -%}
    {%- set columns = ['experiment_id'] + butter_hyperparameters() + butter_sweep_flags() -%}
    {%- if kind == 'runs' -%}
        {%- set columns = columns + ['seed', 'started_at', 'updated_at'] -%}
    {%- else -%}
        {%- set columns = columns + ['num_runs'] -%}
    {%- endif -%}
    {{- return(columns) -}}
{%- endmacro %}
